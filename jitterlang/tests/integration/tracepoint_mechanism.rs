//! How typed probes and `tracepoint:` blocks without `args` reach their tracepoints on this host: raw
//! tracepoints by default, tp_btf or perf-event tracepoints when `JL_TRACEPOINT_MECHANISM` asks, said by `jl -v`,
//! counting the same events either way.

use crate::support::{jl_with_mechanism, loopback_traffic, spawn_attached};
use jitterlib::testing::can_trace;
use serde_json::Value;
use std::process::Command;

const SCRIPT: &str = "softirq() { @softirq = count(); } timer() { @timer = count(); } \
    hrtimer() { @hrtimer = count(); } skb() { @skb = count(); } tracepoint:sched:sched_switch { @switch = count(); }";

/// Runs [`SCRIPT`] with `JL_TRACEPOINT_MECHANISM=mechanism` (unset for `None`), with loopback traffic once jl says
/// its probes are attached (tp_btf loads parse the kernel's BTF first, which takes a while on a busy machine);
/// returns `jl -v`'s lines and each map's count.
fn run(mechanism: Option<&str>) -> (String, Vec<(String, u64)>) {
    let mut command = jl_with_mechanism(mechanism, &["-v", "-f", "json", "--duration", "1.5", "-e", SCRIPT]);
    let (child, mut stderr, lines) = spawn_attached(&mut command);
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).map(|line| line + "\n").collect::<String>());
    loopback_traffic(20);
    let output = child.wait_with_output().expect("jl ends");
    stderr.push_str(&rest.join().expect("stderr reader"));
    assert!(output.status.success(), "{mechanism:?}: {stderr}");
    let counts = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["type"] == "map")
        .flat_map(|line| {
            let data = line["data"].as_object().cloned().unwrap_or_default();
            data.into_iter().map(|(name, value)| (name, value.as_u64().unwrap_or(0)))
        })
        .collect();
    (stderr, counts)
}

fn assert_counted(mechanism: Option<&str>, counts: &[(String, u64)]) {
    for map in ["@softirq", "@timer", "@hrtimer", "@skb", "@switch"] {
        let count = counts.iter().find(|(name, _)| name == map).map_or(0, |(_, count)| *count);
        assert!(count > 0, "{mechanism:?}: {map} counted nothing: {counts:?}");
    }
}

#[test]
fn typed_probes_use_raw_tracepoints_and_fall_back_to_perf_events() {
    if !can_trace("typed_probes_use_raw_tracepoints_and_fall_back_to_perf_events") {
        return;
    }
    let (verbose, counts) = run(None);
    for target in [
        "softirq() -> rawtracepoint:softirq_exit",
        "softirq() -> rawtracepoint:softirq_entry",
        "timer() -> rawtracepoint:timer_expire_exit",
        "hrtimer() -> rawtracepoint:hrtimer_expire_entry",
        "skb() -> rawtracepoint:netif_receive_skb",
        "tracepoint:sched:sched_switch -> rawtracepoint:sched_switch",
    ] {
        assert!(verbose.contains(target), "no `{target}`:\n{verbose}");
    }
    assert!(!verbose.contains("not used"), "raw tracepoints need no excuse:\n{verbose}");
    assert_counted(None, &counts);

    let (verbose, counts) = run(Some("perf"));
    assert!(verbose.contains("softirq() -> tracepoint:irq:softirq_exit"), "{verbose}");
    assert!(verbose.contains("tracepoint:sched:sched_switch -> tracepoint:sched:sched_switch"), "{verbose}");
    let why = "jl: softirq(): irq:softirq_exit uses a perf-event tracepoint; raw tracepoints not used: turned off \
               with JL_TRACEPOINT_MECHANISM=perf";
    assert!(verbose.contains(why), "{verbose}");
    assert!(verbose.contains("jl: skb(): perf-event tracepoints: net_dev_queue,"), "{verbose}");
    assert_counted(Some("perf"), &counts);
}

#[test]
fn typed_probes_use_tp_btf_when_asked_except_where_it_cannot_read_the_arguments() {
    if !can_trace("typed_probes_use_tp_btf_when_asked_except_where_it_cannot_read_the_arguments") {
        return;
    }
    let (verbose, counts) = run(Some("tp_btf"));
    for target in ["softirq() -> tp_btf:softirq_exit", "timer() -> tp_btf:timer_expire_entry", "skb() -> tp_btf:"] {
        assert!(verbose.contains(target), "no `{target}`:\n{verbose}");
    }
    assert!(verbose.contains("hrtimer() -> rawtracepoint:hrtimer_expire_entry"), "{verbose}");
    assert!(verbose.contains("tp_btf not used: tp_btf cannot read its `ktime_t *now` argument"), "{verbose}");
    assert_counted(Some("tp_btf"), &counts);
}

#[test]
fn an_unknown_mechanism_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_jl"))
        .args(["-e", "softirq() { @ = count(); }"])
        .env("JL_TRACEPOINT_MECHANISM", "kprobe")
        .output()
        .expect("run jl");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr, "jl: JL_TRACEPOINT_MECHANISM is `kprobe`: it takes tp_btf, raw or perf\n");
}

/// A dynamic event (here a uprobe event in a group of its own, which no list of default groups knows) is not a
/// tracepoint: jl says so before loading anything, instead of failing to attach with the kernel's EINVAL.
#[test]
fn a_dynamic_event_in_any_group_is_refused_with_what_to_write() {
    if !can_trace("a_dynamic_event_in_any_group_is_refused_with_what_to_write") {
        return;
    }
    let tracefs = std::path::Path::new("/sys/kernel/tracing");
    let group = format!("jltest{}", std::process::id());
    let define = |line: &str| {
        use std::io::Write;
        let mut events = std::fs::OpenOptions::new().append(true).open(tracefs.join("uprobe_events"))?;
        events.write_all(line.as_bytes())
    };
    define(&format!("p:{group}/first /bin/true:0x1000\n")).expect("define a uprobe event");
    let script = format!("tracepoint:{group}:first {{ @ = count(); }}");
    let output = Command::new(env!("CARGO_BIN_EXE_jl")).args(["--duration", "0.2", "-e", &script]).output();
    define(&format!("-:{group}/first\n")).expect("remove the uprobe event");
    let output = output.expect("run jl");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is a dynamic event") && stderr.contains("uprobe:BINARY:FUNCTION"), "{stderr}");
}
