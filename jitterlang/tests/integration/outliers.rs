//! `outlier(THRESHOLD)` reports of typed probes and `time()`: the kernel's events as they happen, stamped with
//! the wall clock.

use crate::runtime::{lost, Tracing};
use crate::support::loopback_traffic;
use crate::support::run_jl;
use jitterlib::testing::can_trace;
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

fn unix_ns_now() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_nanos() as i128
}

/// Seconds since local midnight, as `date` prints it.
fn local_seconds_of_day() -> i64 {
    let out = std::process::Command::new("date").arg("+%H:%M:%S").output().expect("run date");
    seconds_of_day(String::from_utf8_lossy(&out.stdout).trim())
}

fn seconds_of_day(clock: &str) -> i64 {
    let parts: Vec<i64> = clock.split(':').map(|part| part.parse().expect("clock digits")).collect();
    parts[0] * 3600 + parts[1] * 60 + parts[2]
}

fn online_cpus() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

#[test]
fn softirq_outliers_in_json_carry_wall_clock_task_and_stack() {
    if !can_trace("softirq_outliers_in_json_carry_wall_clock_task_and_stack") {
        return;
    }
    let started = unix_ns_now();
    let tracing = Tracing::start(
        r#"softirq() { outlier(1us); } softirq("net_rx") { outlier(1h); } timer() { outlier(1ns); }"#,
        1.5,
    );
    loopback_traffic(20);
    let lines = tracing.finish();
    let finished = unix_ns_now();
    let outliers: Vec<&Value> =
        lines.iter().filter(|line| line["type"] == "outlier").map(|line| &line["data"]).collect();
    let of =
        |probe: &str| -> Vec<&Value> { outliers.iter().copied().filter(|report| report["probe"] == probe).collect() };
    assert_eq!(of(r#"softirq("net_rx")"#).len(), 0, "no NET_RX run takes an hour");
    let softirqs = of("softirq()");
    assert!(!softirqs.is_empty(), "softirq runs longer than 1us: {lines:?}");
    let names = ["hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu"];
    for report in &softirqs {
        // As bpftrace, jl writes an integer a double cannot hold exactly as a string (most such times).
        let unix_ns: i128 = match &report["unix_ns"] {
            Value::String(text) => text.parse().expect("unix_ns digits"),
            number => number.as_i64().expect("unix_ns") as i128,
        };
        // Within the run, give or take the 1 s that `date` would round away.
        let (earliest, latest) = (started - 1_000_000_000, finished + 1_000_000_000);
        assert!((earliest..=latest).contains(&unix_ns), "{report}: not between {started} and {finished}");
        assert!(report["dur"].as_u64().expect("dur") >= 1000, "{report}");
        assert!(report["cpu"].as_u64().expect("cpu") < online_cpus(), "{report}");
        assert!(!report["comm"].as_str().expect("comm").is_empty(), "{report}");
        assert!(report["pid"].as_u64().is_some() && report["tid"].as_u64().is_some(), "{report}");
        let vec = report["vec"].as_u64().expect("vec") as usize;
        assert_eq!(report["name"], names[vec], "{report}");
    }
    // A stack is missing only when the stack map could not take it, and then it is counted.
    let stacks = |report: &Value| -> Vec<String> {
        report["kstack"].as_array().expect("kstack").iter().filter_map(Value::as_str).map(String::from).collect()
    };
    // The softirq dispatcher is `handle_softirqs` from Linux 6.10 on, `__do_softirq` before.
    let dispatcher = |frame: &String| frame.starts_with("handle_softirqs+") || frame.starts_with("__do_softirq+");
    let symbolized = softirqs.iter().filter(|r| stacks(r).iter().any(dispatcher)).count();
    let uncounted = lost(&lines, "stacks_lost") + lost(&lines, "stack_collisions");
    assert!(symbolized > 0, "symbolized stacks: {softirqs:?}");
    assert!(softirqs.len() as u64 - symbolized as u64 <= uncounted, "stacks missing but not counted: {lines:?}");
    let timers = of("timer()");
    assert!(!timers.is_empty(), "timer callbacks ran: {lines:?}");
    assert!(timers.iter().all(|report| report["func"].as_str().is_some_and(|f| !f.starts_with("0x"))), "{timers:?}");
}

#[test]
fn softirq_outliers_in_text_are_one_line_then_the_stack() {
    if !can_trace("softirq_outliers_in_text_are_one_line_then_the_stack") {
        return;
    }
    let tracing = Tracing::start_with(&[], r#"softirq() { outlier(1us); }"#, 1.5);
    loopback_traffic(20);
    let out = tracing.finish_text();
    let date = local_seconds_of_day();
    let lines: Vec<&str> = out.lines().collect();
    let first =
        lines.iter().position(|line| line.contains(" softirq() ")).unwrap_or_else(|| panic!("no report: {out}"));
    let line = lines[first];
    // 12:34:56.789012 softirq() cpu=0 comm=swapper/0 pid=0 vec=9 name=rcu dur=28.2us
    let (clock, rest) = line.split_once(' ').expect("time first");
    let (seconds, micros) = clock.split_once('.').expect("HH:MM:SS.micros");
    assert_eq!(micros.len(), 6, "{line}");
    let apart = (date - seconds_of_day(seconds)).rem_euclid(86_400);
    assert!(apart <= 5, "{line} is {apart} s away from `date`");
    for field in ["cpu=", "comm=", "pid=", "vec=", "name=", "dur="] {
        assert!(rest.contains(field), "{line} lacks {field}");
    }
    let frame = lines.get(first + 1).unwrap_or_else(|| panic!("no stack after {line}"));
    assert!(frame.starts_with("    ") && frame.contains('+'), "a symbolized frame: {frame:?}");
}

#[test]
fn time_prints_the_wall_clock() {
    if !can_trace("time_prints_the_wall_clock") {
        return;
    }
    let script = r#"BEGIN { time("%H:%M:%S"); printf("%s", strftime("%H:%M:%S", nsecs)); exit(); }"#;
    let (code, out, err) = run_jl(&["-f", "json", "-e", script]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Value> = out.lines().map(|line| serde_json::from_str(line).expect("JSON line")).collect();
    let date = local_seconds_of_day();
    let time = lines.iter().find(|line| line["type"] == "time").expect("a time record");
    let printed = lines.iter().find(|line| line["type"] == "printf").expect("a printf record");
    for clock in [&time["data"], &printed["data"]] {
        let apart = (date - seconds_of_day(clock.as_str().expect("text"))).rem_euclid(86_400);
        assert!(apart <= 5, "{clock} is {apart} s away from `date`");
    }
}
