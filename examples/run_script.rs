//! Embedding jitterlang: compile a script against the running kernel and run it for a few seconds with `jl`'s
//! text output, turning the outcome into `jl`'s exit codes (2: the script does not compile, 1: a failure).
//!
//! Run as root: `cargo run --example run_script -- 'softirq() { @[name] = hist(dur); }' 5`

use jitterlang::runtime::{run, RunOptions};
use jitterlib::kernel::LiveKernel;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let source = args.next().unwrap_or_else(|| r#"timer("process_timeout") < hist(dur) >"#.to_string());
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let kernel = LiveKernel::new();
    let compiled = match jitterlang::compile(&source, &kernel) {
        Ok(compiled) => compiled,
        Err(diagnostics) => {
            eprint!("{}", diagnostics.render("<example>", &source));
            return ExitCode::from(2);
        }
    };
    let options = RunOptions { duration: Some(Duration::from_secs_f64(seconds)), ..RunOptions::default() };
    match run(&compiled, &kernel, &options, &mut std::io::stdout(), &AtomicBool::new(false)) {
        Ok(report) => {
            eprintln!("{} events; lost: {:?}", report.events, report.lost);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}
