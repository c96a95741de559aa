//! `skb()` on real packets: pings across a veth pair joining two network namespaces made by the test. Where
//! the kernel allows neither fentry nor kprobes (this project's host) only the tracepoint points run, and
//! `jl -v` says why the function points were left out; the function points themselves are exercised in the
//! VM (tests/vm/scenarios/skb-path.sh).

use crate::runtime::{can_trace, Tracing};
use jitterlib::kernel::{KernelInfo, LiveKernel};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

/// Two network namespaces joined by a veth pair, removed on drop (also when the test fails).
struct VethPair {
    namespaces: [String; 2],
    devices: [String; 2],
    addresses: [&'static str; 2],
}

impl VethPair {
    fn create() -> VethPair {
        let pid = std::process::id();
        let pair = VethPair {
            namespaces: [format!("jlskbA{pid}"), format!("jlskbB{pid}")],
            devices: [format!("jla{pid}"), format!("jlb{pid}")],
            addresses: ["10.231.0.1", "10.231.0.2"],
        };
        let [a, b] = &pair.namespaces;
        let [dev_a, dev_b] = &pair.devices;
        ip(&["netns", "add", a]);
        ip(&["netns", "add", b]);
        ip(&["link", "add", dev_a, "netns", a, "type", "veth", "peer", "name", dev_b, "netns", b]);
        for ((namespace, device), address) in pair.namespaces.iter().zip(&pair.devices).zip(pair.addresses) {
            ip(&["-n", namespace, "addr", "add", &format!("{address}/24"), "dev", device]);
            ip(&["-n", namespace, "link", "set", device, "up"]);
            ip(&["-n", namespace, "link", "set", "lo", "up"]);
        }
        pair
    }

    /// The inode number of a namespace, as `netns` reports it.
    fn inode(&self, index: usize) -> u64 {
        let output = Command::new("stat")
            .args(["-L", "-c", "%i", &format!("/run/netns/{}", self.namespaces[index])])
            .output()
            .expect("run stat");
        String::from_utf8_lossy(&output.stdout).trim().parse().expect("an inode number")
    }

    /// `ping -c COUNT -i 0.2` from the first namespace to the second.
    fn ping(&self, count: u32) {
        let status = Command::new("ip")
            .args(["netns", "exec", &self.namespaces[0], "ping", "-q", "-c", &count.to_string(), "-i", "0.2"])
            .arg(self.addresses[1])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run ping");
        assert!(status.success(), "ping across the veth pair failed");
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end in it, and with it the peer.
        for namespace in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", namespace]).status();
        }
    }
}

fn ip(args: &[&str]) {
    let output = Command::new("ip").args(args).output().expect("run ip");
    assert!(output.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
}

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
            let words: Vec<&str> = text.split_whitespace().collect();
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
    let pair = VethPair::create();
    let (netns_a, netns_b) = (pair.inode(0), pair.inode(1));
    let tracing = Tracing::start_with(
        &["-v", "-f", "json"],
        r#"skb() /icmp_seq > 0/ {
             printf("%s %s %d %d %s %d %s %s\n", hop, prev, dur, netns, dev, icmp_seq, saddr, daddr);
           }"#,
        3.0,
    );
    let verbose = tracing.preamble.clone();
    pair.ping(5);
    let lines = tracing.finish();
    says_how_points_are_reached(&verbose);
    let hops: Vec<Hop> = hops(&lines).into_iter().filter(|hop| pair.devices.contains(&hop.dev)).collect();

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
        text.contains("jl: skb(): tracepoints: net_dev_queue, net_dev_start_xmit, netif_rx,"),
        "no tracepoint note:\n{text}"
    );
    assert!(text.contains("jl: skb() -> tracepoint:net:netif_receive_skb ("), "{text}");
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
