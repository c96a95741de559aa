//! `tracepoint:` blocks reading `args` on this host: fields found among the tracepoint's arguments are read there
//! (raw tracepoint, or tp_btf when asked) and agree with what the perf-event tracepoint's record says of the same
//! events; a field that is not stays on the perf-event tracepoint, and `jl -v` says why.

use crate::support::{jl_with_mechanism, loopback_traffic, spawn_attached};
use jitterlib::testing::can_trace;
use serde_json::{Map, Value};
use std::process::{Child, Command};

/// Starts `jl -v -f json --duration SECONDS -e SCRIPT` with `JL_TRACEPOINT_MECHANISM=mechanism` (unset for `None`)
/// and returns it once it says its probes are attached, with `jl -v`'s lines so far.
fn start(mechanism: Option<&str>, seconds: &str, script: &str) -> (Child, String) {
    let mut command = jl_with_mechanism(mechanism, &["-v", "-f", "json", "--duration", seconds, "-e", script]);
    let (child, verbose, lines) = spawn_attached(&mut command);
    std::thread::spawn(move || for _ in lines {});
    (child, verbose)
}

/// Waits for `child` to end and returns its maps (`{"@name": {"key": count}}`).
fn maps(child: Child) -> Map<String, Value> {
    let output = child.wait_with_output().expect("jl ends");
    assert!(output.status.success(), "jl failed: {output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["type"] == "map")
        .filter_map(|line| line["data"].as_object().cloned())
        .flatten()
        .collect()
}

fn count(maps: &Map<String, Value>, map: &str, key: &str) -> u64 {
    maps[map].get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// A shell that sleeps 10 ms at a time: switched to after each sleep, under its own pid and name.
fn busy_task() -> Child {
    Command::new("sh").args(["-c", "while :; do sleep 0.01; done"]).spawn().expect("spawn sh")
}

/// One script reads sched_switch's tasks from the arguments (`@raw`, `@prev`) and, in a second block that also
/// reads `prev_state` (computed by the kernel, on no argument), from the record (`@perf`, `@perfprev`): the same
/// switches, both ways at once. The perf-event program sees a subset: the kernel skips it while another BPF
/// program or a BPF syscall holds the CPU's `bpf_prog_active` (about two thirds of the switches on this busy
/// host, and more for some tasks than others), which raw tracepoint and tp_btf programs do not check. So every
/// (name, pid, priority) the record gives comes from the arguments at least as often, and the busy task appears
/// both ways.
#[test]
fn sched_switch_task_fields_from_the_arguments_agree_with_the_record() {
    if !can_trace("sched_switch_task_fields_from_the_arguments_agree_with_the_record") {
        return;
    }
    for mechanism in [None, Some("tp_btf")] {
        let mut task = busy_task();
        let script = "tracepoint:sched:sched_switch { @raw[args.next_comm, args.next_pid, args.next_prio] = count(); \
                      @prev[args.prev_comm, args.prev_pid, args.prev_prio] = count(); } \
                      tracepoint:sched:sched_switch { @perf[args.next_comm, args.next_pid, args.next_prio] = count(); \
                      @perfprev[args.prev_comm, args.prev_pid, args.prev_prio] = count(); @state[args.prev_state] = count(); }";
        let (jl, verbose) = start(mechanism, "1", script);
        let found = maps(jl);
        task.kill().expect("stop the shell");
        task.wait().expect("reap the shell");
        let expected = match mechanism {
            None => "jl: tracepoint:sched:sched_switch -> rawtracepoint:sched_switch",
            _ => "jl: tracepoint:sched:sched_switch -> tp_btf:sched_switch",
        };
        assert!(verbose.contains(expected), "{mechanism:?}:\n{verbose}");
        assert!(verbose.contains("jl: tracepoint:sched:sched_switch -> tracepoint:sched:sched_switch"), "{verbose}");
        let key = format!("sh,{},120", task.id());
        for (raw, perf) in [("@raw", "@perf"), ("@prev", "@perfprev")] {
            assert_arguments_cover_the_record(&found, raw, perf, &key, &format!("{mechanism:?}"));
        }
    }
}

/// `busy` (a `comm,pid,prio` key) counted 20 times or more in the map `raw` filled from the arguments and at least
/// once in `perf` filled from the record, and every key of `perf` found in `raw` at least as often (give or take
/// the two events at the edges): the arguments give the record's values (see above for why not equal counts).
fn assert_arguments_cover_the_record(found: &Map<String, Value>, raw: &str, perf: &str, busy: &str, run: &str) {
    let (from_args, from_record) = (count(found, raw, busy), count(found, perf, busy));
    assert!(from_args >= 20 && from_record > 0, "{run}: {busy} in {raw}: {from_args}, {perf}: {from_record}");
    for (key, value) in found[perf].as_object().expect("the record's map") {
        let from_args = count(found, raw, key);
        let from_record = value.as_u64().unwrap_or(0);
        assert!(from_args + 2 >= from_record, "{run}: {key}: {from_args} in {raw}, {from_record} in {perf}");
    }
}

/// sched_wakeup's woken task (`comm`, `pid`, `prio`: members of its one argument, a class's event) from the
/// argument and from the record in one script, as for sched_switch above: the shell woken after each sleep is
/// counted both ways, and every task the record names comes from the argument too.
#[test]
fn sched_wakeup_task_fields_from_the_argument_agree_with_the_record() {
    if !can_trace("sched_wakeup_task_fields_from_the_argument_agree_with_the_record") {
        return;
    }
    let mut task = busy_task();
    let script = "tracepoint:sched:sched_wakeup { @raw[args.comm, args.pid, args.prio] = count(); } \
                  tracepoint:sched:sched_wakeup { @perf[args.comm, args.pid, args.prio] = count(); \
                  @cpu[args.target_cpu] = count(); }";
    let (jl, verbose) = start(None, "1", script);
    let found = maps(jl);
    task.kill().expect("stop the shell");
    task.wait().expect("reap the shell");
    assert!(verbose.contains("jl: tracepoint:sched:sched_wakeup -> rawtracepoint:sched_wakeup"), "{verbose}");
    assert!(verbose.contains("jl: tracepoint:sched:sched_wakeup -> tracepoint:sched:sched_wakeup"), "{verbose}");
    assert_arguments_cover_the_record(&found, "@raw", "@perf", &format!("sh,{},120", task.id()), "sched_wakeup");
}

/// Two runs at once, one reading softirq_entry's `vec` from its argument, one from the perf-event record: every
/// vector the record gives often comes from the argument too (which misses none of the events the record sees;
/// see above), among them TIMER and the NET_RX that loopback traffic raises.
#[test]
fn softirq_vectors_from_the_argument_agree_with_the_record() {
    if !can_trace("softirq_vectors_from_the_argument_agree_with_the_record") {
        return;
    }
    let script = "tracepoint:irq:softirq_entry { @[args.vec] = count(); }";
    // Long enough for the second to attach while the first runs, on a loaded machine.
    let (raw, verbose) = start(None, "6", script);
    let (perf, perf_verbose) = start(Some("perf"), "4", script);
    assert!(verbose.contains("jl: tracepoint:irq:softirq_entry -> rawtracepoint:softirq_entry"), "{verbose}");
    assert!(!verbose.contains("not used"), "{verbose}");
    assert!(perf_verbose.contains("-> tracepoint:irq:softirq_entry"), "{perf_verbose}");
    loopback_traffic(50);
    let (raw, perf) = (maps(raw), maps(perf));
    let vectors = |found: &Map<String, Value>, at_least: u64| -> Vec<u64> {
        let counted = found["@"].as_object().expect("@");
        let mut vectors: Vec<u64> = counted
            .iter()
            .filter(|(_, count)| count.as_u64().unwrap_or(0) >= at_least)
            .map(|(vec, _)| vec.parse().expect("a vector number"))
            .collect();
        vectors.sort_unstable();
        vectors
    };
    let seen = vectors(&raw, 1);
    assert!(seen.contains(&1) && seen.contains(&3), "TIMER and NET_RX: {raw:?}");
    assert!(seen.iter().all(|vec| *vec < 10), "softirq vectors are 0-9: {seen:?}");
    for often in vectors(&perf, 10) {
        assert!(seen.contains(&often), "vector {often}: {perf:?} from the record, {raw:?} from the argument");
    }
}

/// A field computed by the kernel when it records the event (sched_switch's `prev_state`) keeps the block on
/// the perf-event tracepoint; `jl -v` names the field and why, and the record's values are read.
#[test]
fn a_field_not_among_the_arguments_stays_on_the_perf_event_tracepoint() {
    if !can_trace("a_field_not_among_the_arguments_stays_on_the_perf_event_tracepoint") {
        return;
    }
    let mut task = busy_task();
    let (jl, verbose) = start(None, "0.5", "tracepoint:sched:sched_switch { @[args.prev_state] = count(); }");
    let found = maps(jl);
    task.kill().expect("stop the shell");
    task.wait().expect("reap the shell");
    assert!(verbose.contains("jl: tracepoint:sched:sched_switch -> tracepoint:sched:sched_switch"), "{verbose}");
    let why = "jl: tracepoint:sched:sched_switch: sched:sched_switch uses a perf-event tracepoint; args.prev_state \
               is not among its arguments: it is 8 bytes, the argument `prev_state` (unsigned int) is not";
    assert!(verbose.contains(why), "{verbose}");
    // The sleeping shell leaves its CPU interruptible (S, 1).
    assert!(count(&found, "@", "1") > 0, "{found:?}");
}
