//! The Rust API (`jitterlib::trace`) and the language compile a trace to the same bytecode: the probes come from
//! one registry and the aggregation code from `jitterlib::agg::emit`, so only names differ.

use jitterlib::kernel::FixtureKernel;
use jitterlib::trace::{Field, Hrtimer, Irqoff, Skb, Softirq, SoftirqDelay, Stall, Timer, Trace};
use std::time::Duration;

/// The trace's counters (`jt_counters`: map_full, slots_full, skb_reused, skb_out_of_order, map_refused) at the
/// same counters in jitterlang's `jl_stats` (its `Stat` order).
const COUNTER_OFFSETS: [(&str, &str); 5] = [
    ("map[jt_counters]+0\n", "map[jl_stats]+0\n"),
    ("map[jt_counters]+8\n", "map[jl_stats]+48\n"),
    ("map[jt_counters]+16\n", "map[jl_stats]+56\n"),
    ("map[jt_counters]+24\n", "map[jl_stats]+64\n"),
    ("map[jt_counters]+32\n", "map[jl_stats]+72\n"),
];

/// A failed map update's count moves `r1` from map_refused to map_full after an `-E2BIG` check: 4 counters back
/// in `jt_counters`, 9 in `jl_stats`.
const REFUSED_TO_FULL: (&str, &str) = ("r1 += -32", "r1 += -72");

/// The disassembly without comment lines, with the trace's map names and counter offsets replaced by the ones
/// jitterlang gives the same maps (its only user map is `m0_`; its probe maps are `p0_NAME`; the gate `jl_gate`).
fn normalized(disassembly: &str) -> String {
    let mut after_e2big_check = false;
    disassembly
        .lines()
        .filter(|line| !line.starts_with(';'))
        .map(|line| {
            let line = format!("{line}\n");
            let mut line = COUNTER_OFFSETS.iter().fold(line, |line, (from, to)| line.replace(from, to));
            if std::mem::replace(&mut after_e2big_check, line.contains("if r0 != 0xfffffff9")) {
                line = line.replace(REFUSED_TO_FULL.0, REFUSED_TO_FULL.1);
            }
            line.trim_end()
                .replace("map[jt_agg]", "map[m0_]")
                .replace("map[jt_p_", "map[p0_")
                .replace("map[jt_gate]", "map[jl_gate]")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn rust_traces_compile_to_the_scripts_bytecode() {
    let kernel = FixtureKernel::bundled();
    let traces = [
        Trace::new(&kernel, Timer::func("process_timeout")).by(Field::Func).histogram(Field::Dur),
        Trace::new(&kernel, Timer::all()).by(Field::Cpu).by(Field::Func).lhist(Field::Late, 0, 10_000_000, 1_000_000),
        Trace::new(&kernel, Softirq::all()).count_by(Field::Name),
        // A step that does not divide max - min: both accept it, with bpftrace's buckets.
        Trace::new(&kernel, Softirq::all()).lhist(Field::Vec, 0, 10, 3),
        Trace::new(&kernel, Softirq::named("net_rx")),
        Trace::new(&kernel, SoftirqDelay::all()).by(Field::Vec).max(Field::Dur),
        Trace::new(&kernel, Hrtimer::func("hrtimer_wakeup")).by(Field::Comm).quantiles(Field::Late),
        Trace::new(&kernel, Skb::slower_than(Duration::from_micros(50)))
            .by(Field::Prev)
            .by(Field::Hop)
            .stats(Field::Dur),
        Trace::new(&kernel, Irqoff::default_threshold()).by(Field::Kind).sum(Field::Dur),
        Trace::new(&kernel, Stall::net_rx(Duration::from_millis(5)))
            .by(Field::Cpu)
            .by(Field::Culprit)
            .histogram(Field::Dur),
    ];
    for trace in traces {
        let script = trace.script();
        let from_rust = trace.compile().unwrap_or_else(|error| panic!("{script}: {error}"));
        let from_script = jitterlang::compile(&script, &kernel)
            .unwrap_or_else(|diagnostics| panic!("{}", diagnostics.render("rust_api", &script)));
        assert_eq!(from_rust.programs.len(), from_script.programs.len(), "{script}");
        assert_eq!(
            normalized(&from_rust.disassembly()),
            normalized(&from_script.disassembly()),
            "{script}: the Rust API and the language differ"
        );
    }
}
