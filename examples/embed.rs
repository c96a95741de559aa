//! What every example does once it has a script: compile it against the running kernel, run it for a while
//! with the default text output, and turn the outcome into an exit code (`jl`'s: 2 compile error, 1 failure).

use jitterlang::runtime::{run, RunOptions};
use jitterlib::kernel::LiveKernel;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Compiles `source` and runs it for `seconds`, printing its output on stdout and a summary on stderr.
pub fn compile_and_run(source: &str, seconds: f64) -> ExitCode {
    let kernel = LiveKernel::new();
    let compiled = match jitterlang::compile(source, &kernel) {
        Ok(compiled) => compiled,
        Err(diagnostics) => {
            eprint!("{}", diagnostics.render("<example>", source));
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
