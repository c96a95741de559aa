//! Embedding jitterlang: compile a one-liner against the running kernel and run it for a few seconds,
//! printing the duration histogram of one timer callback.
//!
//! Run as root: `cargo run --example timer_histogram -- delayed_work_timer_fn 5`

use jitterlang::runtime::{run, RunOptions};
use jitterlib::kernel::LiveKernel;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let function = args.next().unwrap_or_else(|| "delayed_work_timer_fn".to_string());
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let source = format!("timer(\"{function}\") < hist(dur) >");

    let kernel = LiveKernel::new();
    let compiled = match jitterlang::compile(&source, &kernel) {
        Ok(compiled) => compiled,
        Err(diagnostics) => {
            eprint!("{}", diagnostics.render("<example>", &source));
            return ExitCode::from(2);
        }
    };
    let options = RunOptions { duration: Some(Duration::from_secs_f64(seconds)), ..RunOptions::default() };
    let stop = AtomicBool::new(false);
    match run(&compiled, &kernel, &options, &mut std::io::stdout(), &stop) {
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
