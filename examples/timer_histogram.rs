//! Embedding jitterlang: compile a one-liner against the running kernel and run it for a few seconds,
//! printing the duration histogram of one timer callback.
//!
//! Run as root: `cargo run --example timer_histogram -- delayed_work_timer_fn 5`

mod embed;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let function = args.next().unwrap_or_else(|| "delayed_work_timer_fn".to_string());
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let source = format!("timer(\"{function}\") < hist(dur) >");

    embed::compile_and_run(&source, seconds)
}
