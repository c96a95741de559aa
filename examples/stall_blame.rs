//! The Rust API of jitterlib, no script: which culprits delay the NET_RX softirq on this machine, and by how
//! much. Each wait of `MIN` or more, from raise to start, is linked to what ran on its CPU meanwhile; the
//! histogram of the waits is kept per CPU and per culprit that took most of the wait. The equivalent of
//! `jl -e 'stall("net_rx", MIN) { @[cpu, culprit] = hist(dur); }'`.
//!
//! Run as root: `cargo run --example stall_blame -- 1000 10` (waits of 1000 us or more, for 10 seconds).

use jitterlib::kernel::LiveKernel;
use jitterlib::trace::{Field, Stall, Trace};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let min_us: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10.0);

    let kernel = LiveKernel::new();
    // Shorter waits are dropped in BPF: only the stalls leave the kernel.
    let trace = Trace::new(&kernel, Stall::net_rx(Duration::from_micros(min_us)))
        .by(Field::Cpu)
        .by(Field::Culprit)
        .histogram(Field::Dur);
    eprintln!("tracing: {}", trace.script());
    let trace = match trace.start() {
        Ok(trace) => trace,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(1);
        }
    };
    std::thread::sleep(Duration::from_secs_f64(seconds));
    match trace.read().and_then(|readout| Ok((readout, trace.lost()?))) {
        Ok((readout, lost)) => {
            print!("{}", readout.render_text());
            eprintln!(
                "lost: {} map inserts, {} waits with culprits beyond the slots, {} events missed",
                lost.map_full, lost.slots_full, lost.probe_misses
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}
