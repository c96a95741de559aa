//! jl's own standard output (listings, disassembly, completions, the prompt's replies): errors propagate, and a
//! reader that went away (`jl -l | head`) ends jl quietly with status 0, as a pipeline expects. SIGPIPE stays
//! ignored (Rust's default): the Prometheus endpoint must outlive a scraper that hangs up.

use std::fmt::Display;
use std::io::{self, Write};
use std::process::ExitCode;

/// Writes `text` to standard output and flushes it.
pub fn write(text: impl Display) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    write!(stdout, "{text}")?;
    stdout.flush()
}

/// Writes `text` and a newline to standard output and flushes it.
pub fn line(text: impl Display) -> io::Result<()> {
    write(format_args!("{text}\n"))
}

/// Says why output failed, unless the reader merely went away; true when it did.
pub fn report(error: &io::Error) -> bool {
    if error.kind() == io::ErrorKind::BrokenPipe {
        return true;
    }
    eprintln!("jl: cannot write the output: {error}");
    false
}

/// The exit status of a command whose whole job was writing `result`: 0 when done or when the reader left first.
pub fn finish(result: io::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if report(&error) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}
