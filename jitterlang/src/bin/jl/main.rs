//! `jl`: run jitterlang scripts (one-liners with `-e`, or files), print their disassembly, list probes.

mod cli;
mod list;

use clap::Parser;
use cli::{Cli, Format};
use jitterlang::runtime::{self, OutputFormat, RunOptions};
use jitterlib::kernel::{KernelInfo, LiveKernel};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// Exit code for a script that does not compile.
const EXIT_COMPILE_ERROR: u8 = 2;
/// Exit code for a failure while loading or running.
const EXIT_RUNTIME_ERROR: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let kernel = LiveKernel::new();
    if let Some(pattern) = &cli.list {
        return list::print(pattern.as_deref(), &kernel);
    }
    let (file_name, source) = match cli.source() {
        Ok(found) => found,
        Err(message) => {
            eprintln!("jl: {message}");
            return ExitCode::from(EXIT_COMPILE_ERROR);
        }
    };
    let compiled = match jitterlang::compile_with_args(&source, &kernel, &cli.positionals()) {
        Ok(compiled) => compiled,
        Err(diagnostics) => {
            eprint!("{}", diagnostics.render(&file_name, &source));
            return ExitCode::from(EXIT_COMPILE_ERROR);
        }
    };
    if let Some(path) = &cli.emit_obj {
        if let Err(error) = std::fs::write(path, &compiled.object) {
            eprintln!("jl: cannot write {}: {error}", path.display());
            return ExitCode::from(EXIT_RUNTIME_ERROR);
        }
    }
    if cli.disassemble {
        print!("{}", compiled.disassembly());
        return ExitCode::SUCCESS;
    }
    if cli.emit_obj.is_some() {
        return ExitCode::SUCCESS;
    }
    if cli.verbose {
        for unit in &compiled.programs {
            eprintln!("jl: {} -> {} ({} insns)", unit.describe, unit.attach.target(), unit.program.len());
        }
    }
    run(&cli, &compiled, &kernel)
}

fn run(cli: &Cli, compiled: &jitterlang::codegen::Compiled, kernel: &dyn KernelInfo) -> ExitCode {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(error) = signal_hook::flag::register(signal, Arc::clone(&stop)) {
            eprintln!("jl: cannot install the signal handler: {error}");
            return ExitCode::from(EXIT_RUNTIME_ERROR);
        }
    }
    let options = RunOptions {
        duration: cli.duration.map(Duration::from_secs_f64),
        format: match cli.format {
            Format::Text => OutputFormat::Text,
            Format::Json => OutputFormat::Json,
            Format::Folded => OutputFormat::Folded,
        },
        on_attached: Some(announce_attached),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match runtime::run(compiled, kernel, &options, &mut out, &stop) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("jl: {error}");
            ExitCode::from(EXIT_RUNTIME_ERROR)
        }
    }
}

/// Tells the user (on stderr) that tracing has started.
fn announce_attached(programs: usize) {
    eprintln!("Attached {programs} program{}; Ctrl-C to stop.", if programs == 1 { "" } else { "s" });
}
