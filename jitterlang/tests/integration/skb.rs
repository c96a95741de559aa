//! `skb()` on real packets: pings across a veth pair joining two network namespaces made by the test. Where
//! the kernel allows neither fentry nor kprobes (this project's host) only the tracepoint points run, and
//! `jl -v` says why the function points were left out; the function points themselves are exercised in the
//! VM (tests/vm/scenarios/skb-path.sh).

use crate::netns::VethPair;
use crate::runtime::{map_data, Tracing};
use jitterlib::kernel::{KernelInfo, LiveKernel};
use jitterlib::testing::can_trace;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Each printed hop of the script below: `hop prev dur netns dev icmp_seq saddr daddr`.
#[derive(Debug)]
struct Hop {
    hop: String,
    prev: String,
    dur: u64,
    netns: u64,
    dev: String,
    icmp_seq: u64,
    saddr: String,
    daddr: String,
}

fn hops(lines: &[Value]) -> Vec<Hop> {
    lines
        .iter()
        .filter(|line| line["type"] == "printf")
        .map(|line| {
            let text = line["data"].as_str().expect("printf text");
            // One space between fields, so that an empty `dev` (a hop after the packet left its device, in other
            // traffic) stays a field.
            let words: Vec<&str> = text.trim_end().split(' ').collect();
            assert_eq!(words.len(), 8, "{text:?}");
            let number = |word: &str| word.parse::<u64>().unwrap_or_else(|_| panic!("{word:?} in {text:?}"));
            Hop {
                hop: words[0].into(),
                prev: words[1].into(),
                dur: number(words[2]),
                netns: number(words[3]),
                dev: words[4].into(),
                icmp_seq: number(words[5]),
                saddr: words[6].into(),
                daddr: words[7].into(),
            }
        })
        .collect()
}

#[test]
fn skb_follows_pings_across_a_veth_pair_between_namespaces() {
    if !can_trace("skb_follows_pings_across_a_veth_pair_between_namespaces") {
        return;
    }
    let pair = VethPair::create("jlskb");
    let (netns_a, netns_b) = (pair.inode(0), pair.inode(1));
    // The filter on the namespaces keeps other pings on the host out of the ring buffer.
    let tracing = Tracing::start_with(
        &["-v", "-f", "json"],
        &format!(
            r#"skb() /icmp_seq > 0 && (netns == {netns_a} || netns == {netns_b})/ {{
                 printf("%s %s %d %u %s %d %s %s\n", hop, prev, dur, netns, dev, icmp_seq, saddr, daddr);
                 @[prev, hop] = count();
                 if (hop == "netif_receive_skb") {{ @rcv = count(); }}
               }}"#
        ),
        3.0,
    );
    let verbose = tracing.preamble.clone();
    pair.ping(5);
    let lines = tracing.finish();
    says_how_points_are_reached(&verbose);
    let printed = hops(&lines);
    // Names are keyed and compared as their index in BPF, and print as the strings printf shows.
    let mut pairs: BTreeMap<String, u64> = BTreeMap::new();
    for hop in &printed {
        *pairs.entry(format!("{},{}", hop.prev, hop.hop)).or_default() += 1;
    }
    let counted = map_data(&lines, "@").as_object().expect("keyed by prev, hop").clone();
    let counted: BTreeMap<String, u64> =
        counted.into_iter().map(|(key, n)| (key, n.as_u64().expect("count"))).collect();
    assert_eq!(counted, pairs, "@[prev, hop] against the printed hops");
    let received = printed.iter().filter(|hop| hop.hop == "netif_receive_skb").count() as u64;
    assert_eq!(map_data(&lines, "@rcv").as_u64().unwrap_or(0), received, "hop == \"netif_receive_skb\"");
    let hops: Vec<Hop> = printed.into_iter().filter(|hop| pair.devices.contains(&hop.dev)).collect();

    let names: BTreeSet<&str> = hops.iter().map(|hop| hop.hop.as_str()).collect();
    for expected in ["net_dev_start_xmit", "netif_rx", "netif_receive_skb"] {
        assert!(names.contains(expected), "no hop into {expected}: {names:?}");
    }
    let sequences: BTreeSet<u64> = hops.iter().map(|hop| hop.icmp_seq).collect();
    assert_eq!(sequences, (1..=5).collect(), "icmp_seq of the five echoes");
    for hop in &hops {
        assert!(hop.dur > 0, "{hop:?}");
        assert_ne!(hop.hop, hop.prev, "{hop:?}");
        let (netns, device) = if hop.dev == pair.devices[0] { (netns_a, 0) } else { (netns_b, 1) };
        assert_eq!(hop.netns, netns, "netns of a hop on {}: {hop:?}", pair.devices[device]);
        assert!(
            pair.addresses.contains(&hop.saddr.as_str()) && pair.addresses.contains(&hop.daddr.as_str()),
            "{hop:?}"
        );
    }
    // The echo request leaves A on jla and arrives in B on jlb.
    let request = |hop: &str, seq: u64| {
        hops.iter()
            .find(|h| h.hop == hop && h.icmp_seq == seq && h.saddr == pair.addresses[0])
            .map(|h| (h.dev.clone(), h.netns))
    };
    for seq in 1..=5 {
        assert_eq!(request("net_dev_start_xmit", seq), Some((pair.devices[0].clone(), netns_a)), "seq {seq}");
        assert_eq!(request("netif_receive_skb", seq), Some((pair.devices[1].clone(), netns_b)), "seq {seq}");
    }
}

/// `jl -v` names the mechanism of every skb() point; on a kernel without kprobes that refuses fentry (this
/// project's host), the function points are left out and the notice says both reasons, in words.
fn says_how_points_are_reached(verbose: &[String]) {
    let text = verbose.join("\n");
    assert!(
        text.contains("jl: skb(): raw tracepoints: net_dev_queue, net_dev_start_xmit, netif_rx,"),
        "no tracepoint note:\n{text}"
    );
    assert!(text.contains("jl: skb() -> rawtracepoint:netif_receive_skb ("), "{text}");
    let probes = LiveKernel::new().function_probes();
    if probes.fentry.is_available() || probes.kprobe.is_available() {
        eprintln!("SKIPPED (part): fentry or kprobes work here, so skb()'s function points are not left out");
        assert!(text.contains(" -> fentry:icmp_rcv (") || text.contains(" -> kprobe:icmp_rcv ("), "{text}");
        return;
    }
    let left_out = verbose.iter().find(|line| line.starts_with("jl: skb(): left out: ")).expect(&text);
    assert!(
        left_out.starts_with(
            "jl: skb(): left out: ip_output, br_forward, veth_xmit, br_handle_frame_finish, ip_rcv, ip_forward, \
             ip_local_deliver, icmp_rcv, tcp_v4_rcv, udp_rcv; fentry: the kernel refuses fentry programs (a test \
             load was denied even to root"
        ),
        "{left_out}"
    );
    assert!(
        left_out.ends_with(
            "; kprobe: the kernel has no kprobes (CONFIG_KPROBES is unset: no kprobe PMU, no \
                            kprobe_events in tracefs)"
        ),
        "{left_out}"
    );
    assert!(!left_out.contains("os error") && !left_out.contains("EPERM"), "a raw errno: {left_out}");
    assert!(!text.contains(" -> fentry:") && !text.contains(" -> kprobe:"), "{text}");
}
