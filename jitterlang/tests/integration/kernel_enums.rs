//! Kernel enums on this host: a tracepoint field of an enum type (`skb:kfree_skb`'s `reason`, `enum
//! skb_drop_reason`) prints by its enumerator's name, read from the record, from the raw tracepoint's arguments
//! (raw tracepoint or tp_btf) and by `rawtracepoint:`; enumerators are constants in scripts. The names are checked
//! against the kernel's own table of them: the `__print_symbolic` of the tracepoint's format file, which is not
//! where jl reads them (BTF).

use crate::runtime::{map_data, printed, Tracing};
use crate::support::{jl_with_mechanism, spawn_attached};
use jitterlib::testing::can_trace;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::UdpSocket;

/// kfree_skb's drop reasons as its format file prints them: `{ 3, "NO_SOCKET" }` is 3 -> `NO_SOCKET`.
fn kernel_reason_names() -> BTreeMap<u64, String> {
    let tracefs = jitterlib::kernel::ensure_tracefs().expect("tracefs");
    let format = std::fs::read_to_string(tracefs.join("events/skb/kfree_skb/format")).expect("kfree_skb's format");
    let symbolic = format.split("__print_symbolic(REC->reason,").nth(1).expect("reasons printed by name");
    symbolic
        .split('{')
        .skip(1)
        .filter_map(|entry| {
            let (value, name) = entry.split_once(',')?;
            Some((value.trim().parse().ok()?, name.split('"').nth(1)?.to_string()))
        })
        .collect()
}

/// Sends `count` datagrams from this thread to a loopback port nobody listens on: udp_rcv drops each with
/// `SKB_DROP_REASON_NO_SOCKET`, in this thread (loopback runs the receive softirq when the send enables it).
fn drop_datagrams(count: usize) {
    let closed = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let target = closed.local_addr().expect("address");
    drop(closed);
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    for _ in 0..count {
        socket.send_to(b"drop me", target).expect("send");
    }
}

/// Every key `NAME,NUMBER` of `@pairs` names the reason the kernel calls NUMBER; returns the count of `wanted`.
fn check_pairs(pairs: &Value, names: &BTreeMap<u64, String>, wanted: &str) -> u64 {
    let pairs = pairs.as_object().expect("@pairs");
    for key in pairs.keys() {
        let (name, number) = key.split_once(',').unwrap_or_else(|| panic!("key {key:?}"));
        let number: u64 = number.parse().unwrap_or_else(|_| panic!("key {key:?}"));
        assert_eq!(Some(name), names.get(&number).map(|kernel| format!("SKB_DROP_REASON_{kernel}")).as_deref());
    }
    pairs.get(wanted).and_then(Value::as_u64).unwrap_or(0)
}

#[test]
fn kfree_skb_reasons_print_by_the_kernel_s_names() {
    if !can_trace("kfree_skb_reasons_print_by_the_kernel_s_names") {
        return;
    }
    let names = kernel_reason_names();
    assert_eq!(names.get(&3).map(String::as_str), Some("NO_SOCKET"), "{names:?}");
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    // The first block reads `reason` alone, from the raw tracepoint's arguments (or tp_btf's); the second also
    // `protocol` (IPv4), which the kernel computes: from the record. Both print names, printf's %s too.
    let script = format!(
        "tracepoint:skb:kfree_skb {{ @pairs[args.reason, args.reason + 0] = count(); }} \
         tracepoint:skb:kfree_skb /tid == {tid} && args.protocol == 0x0800/ {{ printf(\"%d %s\\n\", args.reason, args.reason); \
           if (args.reason == SKB_DROP_REASON_NO_SOCKET) {{ @ours = count(); }} @last = args.reason; }}"
    );
    for mechanism in [None, Some("tp_btf")] {
        let mut command = jl_with_mechanism(mechanism, &["-f", "json", "--duration", "1", "-e", &script]);
        let (jl, _, lines) = spawn_attached(&mut command);
        std::thread::spawn(move || for _ in lines {});
        drop_datagrams(5);
        let output = jl.wait_with_output().expect("jl ends");
        assert!(output.status.success(), "{mechanism:?}: {output:?}");
        let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).expect("JSON"))
            .collect();
        let seen = check_pairs(map_data(&lines, "@pairs"), &names, "SKB_DROP_REASON_NO_SOCKET,3");
        assert!(seen >= 5, "{mechanism:?}: {seen} NO_SOCKET drops: {lines:?}");
        let ours = printed(&lines);
        assert!(ours.iter().filter(|line| **line == "3 SKB_DROP_REASON_NO_SOCKET\n").count() >= 5, "{ours:?}");
        assert_eq!(map_data(&lines, "@ours"), 5, "{mechanism:?}");
        assert_eq!(map_data(&lines, "@last"), 3, "{mechanism:?}: JSON gives an enum value as its number");
    }
}

#[test]
fn raw_tracepoint_arguments_of_an_enum_type_print_by_name() {
    if !can_trace("raw_tracepoint_arguments_of_an_enum_type_print_by_name") {
        return;
    }
    let names = kernel_reason_names();
    let tracing = Tracing::start("rawtracepoint:kfree_skb { @pairs[args.reason, args.reason + 0] = count(); }", 1.0);
    drop_datagrams(5);
    let lines = tracing.finish();
    let seen = check_pairs(map_data(&lines, "@pairs"), &names, "SKB_DROP_REASON_NO_SOCKET,3");
    assert!(seen >= 5, "{seen} NO_SOCKET drops: {lines:?}");
}
