//! Typed probes that pair events in BPF: softirq run time, softirq wait time, hrtimer callbacks.

use crate::runtime::{can_trace, map_data, Tracing};
use serde_json::Value;
use std::time::Duration;

/// Loopback TCP connections: each raises NET_RX softirqs on this host.
fn loopback_traffic(connections: usize) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    for _ in 0..connections {
        let _client = std::net::TcpStream::connect(address).expect("connect");
        let _ = listener.accept();
    }
}

/// Buckets' counts of a JSON histogram.
fn total(hist: &Value) -> u64 {
    hist.as_array().map(|buckets| buckets.iter().filter_map(|b| b["count"].as_u64()).sum()).unwrap_or(0)
}

#[test]
fn softirq_durations_for_net_rx_only() {
    if !can_trace("softirq_durations_for_net_rx_only") {
        return;
    }
    let tracing =
        Tracing::start(r#"softirq("net_rx") { @[name] = hist(dur); @vec[vec] = count(); @max = max(dur); }"#, 1.5);
    loopback_traffic(30);
    let lines = tracing.finish();
    let by_name = map_data(&lines, "@").as_object().expect("keyed by name");
    assert_eq!(by_name.keys().collect::<Vec<_>>(), vec!["net_rx"], "the filter keeps NET_RX only");
    assert!(total(&by_name["net_rx"]) >= 30, "NET_RX runs: {by_name:?}");
    let vectors = map_data(&lines, "@vec").as_object().expect("keyed by vec");
    assert_eq!(vectors.keys().collect::<Vec<_>>(), vec!["3"]);
    let longest = map_data(&lines, "@max").as_u64().expect("max");
    assert!(longest > 0 && longest < 1_000_000_000, "a NET_RX run of {longest} ns is implausible");
}

#[test]
fn softirq_names_match_vectors_for_every_type() {
    if !can_trace("softirq_names_match_vectors_for_every_type") {
        return;
    }
    let tracing = Tracing::start("softirq() { @[vec, name] = count(); }", 1.5);
    loopback_traffic(10);
    let lines = tracing.finish();
    let names = ["hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu"];
    let pairs = map_data(&lines, "@").as_object().expect("keyed map");
    assert!(pairs.len() >= 2, "several softirq types ran: {pairs:?}");
    for key in pairs.keys() {
        let (vec, name) = key.split_once(',').expect("vec,name");
        assert_eq!(names[vec.parse::<usize>().expect("vec")], name, "{key}");
    }
}

#[test]
fn softirq_delay_measures_raise_to_entry() {
    if !can_trace("softirq_delay_measures_raise_to_entry") {
        return;
    }
    let tracing = Tracing::start("softirq_delay() { @[name] = count(); @wait = max(dur); }", 1.5);
    loopback_traffic(30);
    let lines = tracing.finish();
    let by_name = map_data(&lines, "@").as_object().expect("keyed map");
    assert!(by_name.get("net_rx").and_then(Value::as_u64).unwrap_or(0) >= 30, "NET_RX waits: {by_name:?}");
    let longest = map_data(&lines, "@wait").as_u64().expect("max");
    assert!(longest < 5_000_000_000, "a wait of {longest} ns is implausible");
}

#[test]
fn hrtimer_wakeups_of_nanosleep() {
    if !can_trace("hrtimer_wakeups_of_nanosleep") {
        return;
    }
    let tid = unsafe { libc::gettid() };
    let tracing = Tracing::start(
        &format!(
            r#"hrtimer("hrtimer_wakeup") {{ @all = count(); }} tracepoint:syscalls:sys_enter_clock_nanosleep /tid == {tid}/ {{ @sleeps = count(); }}"#
        ),
        1.5,
    );
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let lines = tracing.finish();
    let sleeps = map_data(&lines, "@sleeps").as_u64().expect("sleeps");
    let wakeups = map_data(&lines, "@all").as_u64().expect("wakeups");
    assert_eq!(sleeps, 50);
    assert!(wakeups >= 50, "each 1 ms sleep ends with hrtimer_wakeup: {wakeups} wakeups for 50 sleeps");
}
