//! Compile-only tests against the bundled kernel fixture, and runtime tests (root) asserting on what the running
//! kernel reported.

use super::*;
use crate::agg::{AggKind, AggValue, FieldValue};
use crate::kernel::{FixtureKernel, LiveKernel};
use std::time::Duration;

#[test]
fn scripts_use_the_language_names() {
    let kernel = FixtureKernel::bundled();
    let trace = Trace::new(&kernel, Timer::func("process_timeout")).by(Field::Cpu).histogram(Field::Dur);
    assert_eq!(trace.script(), r#"timer("process_timeout") { @[cpu] = hist(dur); }"#);
    let trace =
        Trace::new(&kernel, Skb::hop_slower_than("ip_rcv", Duration::from_millis(1))).lhist(Field::Len, 0, 1500, 100);
    assert_eq!(trace.script(), r#"skb("ip_rcv", 1000000) { @ = lhist(len, 0, 1500, 100); }"#);
    assert_eq!(Trace::new(&kernel, Irqoff::default_threshold()).script(), "irqoff() { @ = count(); }");
}

#[test]
fn a_timer_histogram_has_the_exit_program_and_the_entry_companion() {
    let kernel = FixtureKernel::bundled();
    let compiled =
        Trace::new(&kernel, Timer::func("process_timeout")).histogram(Field::Dur).compile().expect("compiles");
    let attach: Vec<String> = compiled.programs.iter().map(|unit| unit.attach.target()).collect();
    assert_eq!(attach, ["rawtracepoint:timer_expire_exit", "rawtracepoint:timer_expire_entry"]);
    assert_eq!(compiled.layout.histogram(), Some(AggKind::TimeHist), "hist of a duration buckets by time unit");
    let maps: Vec<&str> = compiled.maps.iter().map(|map| map.name.as_str()).collect();
    assert_eq!(maps, ["jt_counters", "jt_agg", "jt_gate", "jt_p_start"]);
    assert_eq!(compiled.maps[1].kind, crate::maps::MapKind::PerCpuArray, "a histogram without keys: its buckets");
    let keyed = Trace::new(&kernel, Timer::all()).by(Field::Func).histogram(Field::Dur).compile().expect("compiles");
    assert_eq!(keyed.maps[1].kind, crate::maps::MapKind::PerCpuHash);
    assert!(keyed.disassembly().contains("call bpf_map_update_elem"), "a new key is inserted: {}", keyed.disassembly());
    let by_name =
        Trace::new(&kernel, Softirq::all()).by(Field::Name).histogram(Field::Dur).compile().expect("compiles");
    assert_eq!(by_name.maps[1].kind, crate::maps::MapKind::PerCpuArray, "a histogram by name: names x buckets");
    assert!(!by_name.disassembly().contains("bpf_map_update_elem"), "no insert: {}", by_name.disassembly());
}

#[test]
fn max_keys_sizes_the_aggregation_map() {
    let kernel = FixtureKernel::bundled();
    let keyed = |trace: Trace| trace.by(Field::Func).histogram(Field::Dur).compile().expect("compiles").maps[1].clone();
    assert_eq!(keyed(Trace::new(&kernel, Timer::all())).max_entries, crate::maps::DEFAULT_MAP_KEYS);
    assert_eq!(keyed(Trace::new(&kernel, Timer::all()).max_keys(100_000)).max_entries, 100_000);
}

#[test]
fn a_count_without_keys_is_a_one_slot_array() {
    let kernel = FixtureKernel::bundled();
    let compiled = Trace::new(&kernel, Softirq::named("net_rx")).compile().expect("compiles");
    assert!(compiled.layout.is_single_slot());
    assert_eq!(compiled.maps[1].kind, crate::maps::MapKind::PerCpuArray);
    assert!(!compiled.disassembly().contains("bpf_map_update_elem"), "the slot always exists: no insert");
}

#[test]
fn every_typed_probe_compiles_with_its_fields() {
    let kernel = FixtureKernel::bundled();
    let traces = [
        Trace::new(&kernel, Softirq::all()).by(Field::Name).by(Field::Vec).quantiles(Field::Dur),
        Trace::new(&kernel, SoftirqDelay::named("net_rx")).by(Field::Cpu).max(Field::Dur),
        Trace::new(&kernel, Hrtimer::all()).by(Field::Func).stats(Field::Late),
        Trace::new(&kernel, Skb::all()).by(Field::Prev).by(Field::Hop).by(Field::Dev).histogram(Field::Dur),
        Trace::new(&kernel, Irqoff::threshold(Duration::from_millis(5)))
            .by(Field::Kind)
            .by(Field::Comm)
            .sum(Field::Dur),
    ];
    for trace in traces {
        let compiled = trace.compile().unwrap_or_else(|error| panic!("{}: {error}", trace.script()));
        assert!(!compiled.object.is_empty());
    }
}

#[test]
fn a_field_the_probe_lacks_is_named_with_those_it_has() {
    let kernel = FixtureKernel::bundled();
    let error = Trace::new(&kernel, Softirq::all()).count_by(Field::Func).compile().expect_err("no func");
    assert_eq!(error.to_string(), "softirq() has no field `func`; it has: dur, vec, name, cpu, comm");
}

#[test]
fn strings_are_not_aggregated_as_numbers() {
    let kernel = FixtureKernel::bundled();
    let error = Trace::new(&kernel, Softirq::all()).sum(Field::Name).compile().expect_err("a string");
    assert_eq!(error.to_string(), "softirq(): `name` is a string; sum() needs a number");
}

#[test]
fn probe_errors_keep_the_registry_hint() {
    let kernel = FixtureKernel::bundled();
    let error = Trace::new(&kernel, Softirq::named("net_rxx")).compile().expect_err("unknown vector");
    assert!(matches!(error, TraceError::Probe { .. }));
    assert!(
        error.to_string().starts_with(r#"softirq("net_rxx"): unknown softirq `net_rxx`; one of: hi, timer"#),
        "{error}"
    );
    let error = Trace::new(&kernel, Timer::func("no_such_callback")).compile().expect_err("unknown callback");
    assert!(error.to_string().contains("is not a symbol of this kernel"), "{error}");
}

#[test]
fn linear_buckets_follow_bpftrace_rules() {
    let kernel = FixtureKernel::bundled();
    // A step that does not divide max - min is fine (the last bucket starts at 20), as in bpftrace and the language.
    Trace::new(&kernel, Timer::all()).lhist(Field::Dur, 0, 25, 10).compile().expect("uneven lhist");
    for (min, max, step) in [(10, 0, 1), (0, 10, 0), (0, 1001, 1)] {
        let error = Trace::new(&kernel, Timer::all()).lhist(Field::Dur, min, max, step).compile().expect_err("refused");
        assert!(matches!(error, TraceError::Aggregation { .. }), "{error}");
    }
}

/// Whether `test` can attach here: root, and tracefs mounted (or mountable).
fn can_trace(test: &str) -> bool {
    crate::testing::can_trace(test)
        && crate::kernel::ensure_tracefs().map_err(|error| crate::testing::skip(test, error)).is_ok()
}

/// The count of each row, keyed by its first key field as text.
fn counts_by_key(readout: &Readout) -> Vec<(String, u64)> {
    readout
        .snapshot()
        .rows
        .iter()
        .map(|row| {
            let key = match row.key.first() {
                Some(FieldValue::Str(text)) => text.clone(),
                other => format!("{other:?}"),
            };
            let count = match &row.value {
                AggValue::Scalar(FieldValue::Uint(count)) => *count,
                AggValue::Scalar(FieldValue::Int(count)) => *count as u64,
                other => panic!("a count, not {other:?}"),
            };
            (key, count)
        })
        .collect()
}

#[test]
fn softirq_counts_by_name_from_the_kernel() {
    if !can_trace("softirq_counts_by_name_from_the_kernel") {
        return;
    }
    let kernel = LiveKernel::new();
    let trace = Trace::new(&kernel, Softirq::all()).count_by(Field::Name).start().expect("starts");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    for _ in 0..30 {
        let _client = std::net::TcpStream::connect(address).expect("connect");
        let _ = listener.accept();
    }
    std::thread::sleep(Duration::from_millis(300));
    let readout = trace.read().expect("reads");
    let counts = counts_by_key(&readout);
    let names = ["hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu"];
    assert!(counts.iter().all(|(name, _)| names.contains(&name.as_str())), "names are vector names: {counts:?}");
    let net_rx = counts.iter().find(|(name, _)| name == "net_rx").map_or(0, |(_, count)| *count);
    assert!(net_rx >= 30, "30 loopback connections ran NET_RX at least 30 times: {counts:?}");
    assert!(readout.render_text().contains("@[net_rx]: "), "{}", readout.render_text());
    assert_eq!(trace.lost().expect("counters").map_full, 0);
}

#[test]
fn timer_histogram_of_receive_timeouts() {
    if !can_trace("timer_histogram_of_receive_timeouts") {
        return;
    }
    let kernel = LiveKernel::new();
    let trace = Trace::new(&kernel, Timer::func("process_timeout"))
        .by(Field::Func)
        .histogram(Field::Dur)
        .start()
        .expect("starts");
    // Each timed-out receive sleeps in schedule_timeout(): its timer-wheel timer calls process_timeout.
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.set_read_timeout(Some(Duration::from_millis(10))).expect("timeout");
    for _ in 0..20 {
        assert!(socket.recv(&mut [0u8; 8]).is_err(), "nothing is sent: the receive times out");
    }
    let readout = trace.read().expect("reads");
    let [row] = readout.snapshot().rows.as_slice() else { panic!("one callback: {readout:?}") };
    assert!(matches!(row.key.as_slice(), [FieldValue::Symbol(_)]), "{row:?}");
    let AggValue::Histogram(hist) = &row.value else { panic!("a histogram: {row:?}") };
    assert!(hist.total() >= 20, "20 timeouts, {} callbacks", hist.total());
    let text = readout.render_text();
    assert!(text.starts_with("@[process_timeout]:\n"), "{text}");
    // A wakeup callback runs for microseconds; a busy (virtual) machine may stretch several past a millisecond, so
    // the check is that most are short: a histogram of the 10 ms sleeps themselves would have every one >= 1 ms.
    let slow: u64 = hist
        .visible_buckets()
        .into_iter()
        .filter(|&(bucket, _)| AggKind::TimeHist.bucket_range(bucket).and_then(|range| range.lower) >= Some(1_000_000))
        .map(|(_, count)| count)
        .sum();
    assert!(slow * 2 < hist.total(), "{slow} of {} callbacks took a millisecond or more: {text}", hist.total());
}
