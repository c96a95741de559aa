//! Aggregations keyed by a name of a fixed table live in per-CPU arrays of names (x buckets)
//! (`MapLayout::name_slots`): they must print exactly the keys a hash would have held. `sum()` stays a hash
//! (`sum(0)` writes a key of zeroes): `@s[name] = sum(1)` is the reference the arrays are held against.

use crate::support::run_jl;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The JSON object of map `name` in `jl -f json` output.
fn map_of<'a>(lines: &'a [Value], name: &str) -> &'a serde_json::Map<String, Value> {
    lines.iter().find_map(|line| line["data"][name].as_object()).unwrap_or_else(|| panic!("no map {name} in {lines:?}"))
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
    let by_name = |map: &str| -> BTreeMap<String, u64> {
        map_of(&lines, map).iter().map(|(name, n)| (name.clone(), n.as_u64().expect("a count"))).collect()
    };
    let counts = by_name("@s");
    assert_eq!(by_name("@c"), counts, "count() by name holds the names and counts of the hash");
    let totals: BTreeMap<String, u64> = map_of(&lines, "@h")
        .iter()
        .map(|(name, buckets)| {
            let buckets = buckets.as_array().expect("buckets");
            (name.clone(), buckets.iter().map(|bucket| bucket["count"].as_u64().expect("count")).sum())
        })
        .collect();
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
