//! The bundled scripts built on `skb()`, across a veth pair between two namespaces made by the test:
//! `pingtrace` (each echo's hops by id and sequence) and `drops` (dropped packets by place and reason).

use crate::netns::VethPair;
use crate::runtime::{map_data, printed, Tracing};
use jitterlib::testing::can_trace;
use std::collections::BTreeSet;
use std::net::UdpSocket;

#[test]
fn pingtrace_prints_each_echo_s_hops_by_id_and_sequence() {
    if !can_trace("pingtrace_prints_each_echo_s_hops_by_id_and_sequence") {
        return;
    }
    let pair = VethPair::create("jlpt");
    // Only the hops in the second namespace: other pings on the host stay out of the ring buffer.
    let netns = pair.inode(1).to_string();
    let tracing = Tracing::start_bundled(&["-f", "json", "--arg", &format!("netns={netns}")], "pingtrace", 3.0);
    pair.ping(3);
    let lines = tracing.finish();
    let ours: Vec<Vec<&str>> = printed(&lines)
        .into_iter()
        .map(|text| text.split_whitespace().collect::<Vec<&str>>())
        .filter(|words| words.iter().any(|word| pair.devices.contains(&word.to_string())))
        .collect();
    // id ID seq SEQ PREV -> HOP DUR us cpu N COMM netns INODE dev DEV SADDR -> DADDR
    let ids: BTreeSet<&str> = ours.iter().map(|words| words[1]).collect();
    assert_eq!(ids.len(), 1, "one ping, one echo id: {ours:?}");
    for seq in ["1", "2", "3"] {
        let hops: BTreeSet<(&str, &str)> =
            ours.iter().filter(|words| words[3] == seq).map(|words| (words[4], words[6])).collect();
        // The request arrives in the namespace and is answered there; the reply leaves it.
        for hop in [
            ("net_dev_start_xmit", "netif_rx"),
            ("netif_rx", "netif_receive_skb"),
            ("net_dev_queue", "net_dev_start_xmit"),
        ] {
            assert!(hops.contains(&hop), "seq {seq} has no hop {hop:?}: {hops:?}");
        }
        let requests = ours.iter().filter(|words| words[3] == seq && words[16] == pair.addresses[0]).count();
        let replies = ours.iter().filter(|words| words[3] == seq && words[16] == pair.addresses[1]).count();
        assert!(requests >= 3 && replies >= 1, "seq {seq}: {requests} request and {replies} reply hops");
    }
    assert!(ours.iter().all(|words| words[13] == netns), "{ours:?}");
    let echo = map_data(&lines, "@echo").as_object().expect("@echo");
    let id = ids.first().unwrap();
    for seq in 1..=3 {
        let total = echo.get(&format!("{id},{seq}")).and_then(|value| value.as_u64());
        assert!(total.is_some_and(|ns| ns > 0), "@echo[{id}, {seq}]: {echo:?}");
    }
}

#[test]
fn drops_counts_each_drop_by_place_reason_device_and_namespace() {
    if !can_trace("drops_counts_each_drop_by_place_reason_device_and_namespace") {
        return;
    }
    let pair = VethPair::create("jldr");
    let tracing = Tracing::start_bundled(&["-f", "json"], "drops", 3.0);
    // Datagrams to a port nobody listens on in the second namespace: udp_rcv drops each (NO_SOCKET).
    let target = format!("{}:9", pair.addresses[1]);
    pair.in_namespace(0, move || {
        let socket = UdpSocket::bind("0.0.0.0:0").expect("bind");
        for _ in 0..5 {
            socket.send_to(b"drop me", &target).expect("send");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    })
    .join()
    .expect("the sender");
    let lines = tracing.finish();
    let drops = map_data(&lines, "@drops").as_object().expect("@drops");
    let key = format!("netif_receive_skb,{},{},{}", NO_SOCKET, pair.devices[1], pair.inode(1));
    assert_eq!(drops.get(&key).and_then(|n| n.as_u64()), Some(5), "{key} in {drops:?}");
    let stacks = map_data(&lines, "@where").as_object().expect("@where");
    assert!(
        stacks.keys().any(|stack| stack.starts_with(&format!("{},", NO_SOCKET)) && stack.contains("udp")),
        "no UDP stack for NO_SOCKET: {stacks:?}"
    );
}

/// The drop reason udp_rcv gives a datagram to a closed port: `reason` is the kernel's `enum skb_drop_reason`, a
/// key by its enumerator's name.
const NO_SOCKET: &str = "SKB_DROP_REASON_NO_SOCKET";
