//! Aggregations keyed by names of fixed tables live in per-CPU arrays of names (x names) (x buckets)
//! (`MapLayout::name_slots`): they must print exactly the keys a hash would have held. `sum()` stays a hash
//! (`sum(0)` writes a key of zeroes): `@s[name] = sum(1)` is the reference the arrays are held against, and a
//! map whose length a program reads stays a hash too.

use crate::netns::VethPair;
use crate::runtime::Tracing;
use crate::support::run_jl;
use jitterlib::testing::can_trace;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The JSON object of map `name` in `jl -f json` output.
fn map_of<'a>(lines: &'a [Value], name: &str) -> &'a serde_json::Map<String, Value> {
    lines.iter().find_map(|line| line["data"][name].as_object()).unwrap_or_else(|| panic!("no map {name} in {lines:?}"))
}

/// The counts of map `name` (count() or sum()) by printed key, in `jl -f json` output.
fn counts_of(lines: &[Value], name: &str) -> BTreeMap<String, u64> {
    map_of(lines, name).iter().map(|(key, n)| (key.clone(), n.as_u64().expect("a count"))).collect()
}

/// The total count of each histogram of map `name` by printed key, in `jl -f json` output.
fn totals_of(lines: &[Value], name: &str) -> BTreeMap<String, u64> {
    let total = |buckets: &Value| -> u64 {
        buckets.as_array().expect("buckets").iter().map(|bucket| bucket["count"].as_u64().expect("count")).sum()
    };
    map_of(lines, name).iter().map(|(key, buckets)| (key.clone(), total(buckets))).collect()
}

#[test]
fn a_softirq_histogram_by_name_counts_what_a_hash_counts_and_holds_only_names_seen() {
    // The same events counted three times: `@s` is a per-CPU hash (sum), `@h` and `@c` per-CPU arrays.
    let script = "softirq() { @h[name] = hist(dur); @c[name] = count(); @s[name] = sum(1); } \
                  interval:ms:400 { exit(); }";
    let (code, out, err) = run_jl(&["-v", "-f", "json", "-e", script]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("@h: a per-CPU array of 10 names x 65 buckets"), "jl -v names the array: {err}");
    assert!(err.contains("@c: a per-CPU array of 10 names ("), "{err}");
    assert!(!err.contains("@s: a per-CPU array"), "a sum by name stays a hash: {err}");
    let lines: Vec<Value> = out.lines().map(|line| serde_json::from_str(line).expect("JSON")).collect();
    let counts = counts_of(&lines, "@s");
    assert_eq!(counts_of(&lines, "@c"), counts, "count() by name holds the names and counts of the hash");
    let totals = totals_of(&lines, "@h");
    assert!(counts.contains_key("rcu") || counts.contains_key("timer"), "softirqs ran: {counts:?}");
    assert!(counts.len() < 10, "some softirq never ran here, so a table's every name would show: {counts:?}");
    assert_eq!(totals, counts, "the histogram holds each name seen, with as many events, and no other name");
}

#[test]
fn a_zeroed_histogram_by_name_keeps_the_names_it_held_as_a_hash_keeps_its_keys() {
    // `exit()` closes the gate in the kernel before user space zeroes either map: both hold the same names.
    let script = "softirq() { @h[name] = hist(dur); @c[name] = count(); @s[name] = sum(1); } \
                  interval:ms:300 { zero(@h); zero(@c); zero(@s); exit(); }";
    let (code, out, err) = run_jl(&["-f", "json", "-e", script]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Value> = out.lines().map(|line| serde_json::from_str(line).expect("JSON")).collect();
    let sums: Vec<(&String, &Value)> = map_of(&lines, "@s").iter().collect();
    let counts: Vec<(&String, &Value)> = map_of(&lines, "@c").iter().collect();
    let histograms: Vec<(&String, &Value)> = map_of(&lines, "@h").iter().collect();
    assert!(!sums.is_empty() && sums.len() < 10, "some softirqs ran, not all: {sums:?}");
    assert!(counts.iter().chain(&sums).all(|(_, count)| count.as_u64() == Some(0)), "zeroed: {counts:?}");
    assert!(histograms.iter().all(|(_, buckets)| buckets.as_array().is_some_and(Vec::is_empty)), "{histograms:?}");
    let names = |rows: &[(&String, &Value)]| rows.iter().map(|(name, _)| name.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(names(&histograms), names(&sums), "the names written before zero(), and no other");
    assert_eq!(names(&counts), names(&sums), "the names written before zero(), and no other");
}

#[test]
fn maps_by_name_whose_keys_a_program_tests_deletes_or_assigns_stay_hashes_and_hold_what_was_written() {
    // A name assigned 0 is a key; has_key() and a loop see the keys written; a key deleted in the program is gone.
    let script = "softirq() { @zero[name] = 0; if (!has_key(@seen, name)) { @first[name] = 1; } \
                  @seen[name] = count(); @gone[name] = count(); delete(@gone, name); @walked[name] = count(); \
                  for ($kv : @walked) { @copy[$kv.0] = $kv.1; } } interval:ms:300 { exit(); }";
    let (code, out, err) = run_jl(&["-v", "-f", "json", "-e", script]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("a per-CPU array of"), "no map here is an array: {err}");
    let lines: Vec<Value> = out.lines().map(|line| serde_json::from_str(line).expect("JSON")).collect();
    let names = |map: &str| map_of(&lines, map).keys().cloned().collect::<BTreeSet<String>>();
    let seen = names("@seen");
    assert!(!seen.is_empty() && seen.len() < 10, "some softirqs ran, not all: {seen:?}");
    assert_eq!(names("@zero"), seen, "each name assigned 0 is a key");
    assert!(map_of(&lines, "@zero").values().all(|value| value.as_i64() == Some(0)), "{lines:?}");
    assert_eq!(names("@first"), seen, "has_key() was false once for each name");
    assert_eq!(names("@copy"), seen, "the loop walked each name written, and no other");
    assert!(lines.iter().all(|line| line["data"]["@gone"].as_object().is_none_or(|gone| gone.is_empty())), "{lines:?}");
}

#[test]
fn an_skb_histogram_by_prev_and_hop_prints_what_a_hash_of_the_same_packets_prints() {
    if !can_trace("an_skb_histogram_by_prev_and_hop_prints_what_a_hash_of_the_same_packets_prints") {
        return;
    }
    let pair = VethPair::create("jlna");
    let (netns_a, netns_b) = (pair.inode(0), pair.inode(1));
    // `@h` and `@c` are arrays of points x points (x buckets). Hashes of the same hops: `@hs` keyed by the
    // points' names as strings, `@cc` whose length a program reads, `@s` a sum.
    let script = format!(
        "skb() /icmp_seq > 0 && (netns == {netns_a} || netns == {netns_b})/ {{ @h[prev, hop] = hist(dur); $p = prev; $o = hop; \
         @hs[$p, $o] = hist(dur); @c[prev, hop] = count(); @cc[prev, hop] = count(); @s[prev, hop] = sum(1); }} \
         interval:s:60 {{ @n = len(@cc); }}"
    );
    let run = |format: &str| {
        let tracing = Tracing::start_with(&["-v", "-f", format], &script, 3.0);
        pair.ping(5);
        (tracing.preamble.join("\n"), tracing.finish_text())
    };
    let (verbose, json) = run("json");
    let prefix = "jl: @h: a per-CPU array of ";
    let array = verbose.lines().find_map(|line| line.strip_prefix(prefix)).unwrap_or_else(|| panic!("{verbose}"));
    let (names, rest) = array.split_once(" x ").expect("names x names");
    assert_eq!(rest, format!("{names} names x 65 buckets (keyed by the names' indexes)"), "{verbose}");
    assert!(verbose.contains(&format!("@c: a per-CPU array of {names} x {names} names (")), "{verbose}");
    for hash in ["@hs", "@cc", "@s"] {
        assert!(!verbose.contains(&format!("{hash}: a per-CPU array")), "{hash} stays a hash: {verbose}");
    }
    let lines: Vec<Value> = json.lines().map(|line| serde_json::from_str(line).expect("JSON")).collect();
    let hops = counts_of(&lines, "@s");
    assert!(hops.len() >= 3 && hops.values().sum::<u64>() >= 10, "five echoes and replies, hop by hop: {hops:?}");
    assert_eq!(counts_of(&lines, "@c"), hops, "count() by prev, hop holds the keys and counts of the hash");
    assert_eq!(counts_of(&lines, "@cc"), hops);
    assert_eq!(
        totals_of(&lines, "@h"),
        hops,
        "the histogram holds each pair of points seen, with as many packets, and no other"
    );
    assert_eq!(map_of(&lines, "@h"), map_of(&lines, "@hs"), "the same buckets as the hash's");
    // As text, the count's rows come in the name-keyed hash's order (by count, then by the names' indexes), and
    // each histogram prints as the string-keyed hash's.
    let (_, text) = run("text");
    let rows = |map: &str| -> Vec<&str> {
        text.lines().filter_map(|line| line.strip_prefix(map).filter(|row| row.starts_with('['))).collect()
    };
    assert!(rows("@c").len() >= 3, "{text}");
    assert_eq!(rows("@c"), rows("@cc"), "{text}");
    assert_eq!(rows("@c"), rows("@s"), "{text}");
    // A histogram's block: its `[key]:` line and its bucket lines, up to a blank line or the next map.
    let histograms = |map: &str| -> BTreeSet<String> {
        let (mut blocks, mut block) = (BTreeSet::new(), None::<String>);
        for line in text.lines() {
            if line.is_empty() || line.starts_with('@') {
                blocks.extend(block.take());
            }
            match (line.strip_prefix(map).filter(|row| row.starts_with('[')), block.as_mut()) {
                (Some(key), _) => block = Some(key.to_string()),
                (None, Some(block)) => block.extend(["\n", line]),
                (None, None) => {}
            }
        }
        blocks.extend(block);
        blocks
    };
    assert_eq!(histograms("@h").len(), rows("@c").len(), "{text}");
    assert_eq!(histograms("@h"), histograms("@hs"), "{text}");
}
