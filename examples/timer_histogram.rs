//! The Rust API of jitterlib, no script: the duration histogram of one timer callback, the equivalent of
//! `jl -e 'timer("FUNCTION") < hist(dur) >'`.
//!
//! Run as root: `cargo run --example timer_histogram -- process_timeout 5` (exits 1 when the probe cannot be
//! started, 3 when the callback did not run in that time).

use jitterlib::kernel::LiveKernel;
use jitterlib::trace::{Field, Timer, Trace};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let function = args.next().unwrap_or_else(|| "process_timeout".to_string());
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5.0);

    let kernel = LiveKernel::new();
    let trace = match Trace::new(&kernel, Timer::func(&function)).histogram(Field::Dur).start() {
        Ok(trace) => trace,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(1);
        }
    };
    for program in &trace.compiled().programs {
        eprintln!("attached {} to {}", program.name, program.attach.target());
    }
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let (readout, lost) = match trace.read().and_then(|readout| Ok((readout, trace.lost()?))) {
        Ok(read) => read,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(1);
        }
    };
    print!("{}", readout.render_text());
    eprintln!("lost: {} map inserts, {} events missed", lost.map_full, lost.probe_misses);
    if readout.snapshot().rows.is_empty() {
        eprintln!("{function} did not run in {seconds} s");
        return ExitCode::from(3);
    }
    ExitCode::SUCCESS
}
