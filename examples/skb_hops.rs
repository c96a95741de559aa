//! The Rust API of jitterlib, no script: packets followed hop by hop with the typed `skb` probe; the latency
//! histogram of every hop slower than a threshold, per pair of points, network namespace and device. The
//! equivalent of `jl -e 'skb(THRESHOLD) { @[prev, hop, netns, dev] = hist(dur); }'`.
//!
//! Run as root: `cargo run --example skb_hops -- 1000 10` (hops slower than 1000 us, for 10 seconds)

use jitterlib::kernel::LiveKernel;
use jitterlib::trace::{Field, Skb, Trace};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let threshold_us: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10.0);

    let kernel = LiveKernel::new();
    // The threshold is the probe's filter: faster hops are dropped in BPF before any packet field is read.
    let trace = Trace::new(&kernel, Skb::slower_than(Duration::from_micros(threshold_us)))
        .by(Field::Prev)
        .by(Field::Hop)
        .by(Field::Netns)
        .by(Field::Dev)
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
    match trace.read() {
        Ok(readout) => {
            print!("{}", readout.render_text());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}
