//! Command-line options.

use clap::{Parser, ValueEnum};
use std::path::PathBuf;

/// Output formats of `-f`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// bpftrace's text layout.
    Text,
    /// One JSON object per line.
    Json,
    /// Text, with maps keyed by kstack as folded stacks (`frame;frame count`) for flame graphs.
    Folded,
}

/// jl: trace the kernel with jitterlang one-liners and scripts, compiled straight to eBPF.
#[derive(Debug, Parser)]
#[command(
    name = "jl",
    version,
    after_help = "Examples:\n  jl -e 'timer(\"estimation_timer\") < hist(dur) >'\n  jl -e 'tracepoint:irq:softirq_entry { @[args.vec] = count(); }' --duration 5\n  jl -d -e 'timer() { @[func] = sum(dur); }'\n  jl -l 'tracepoint:irq:*'\n  jl script.jl 10 sshd        ($1 is 10, str($2) is \"sshd\")\n\nExit codes: 0 success, 1 load/attach/run failure, 2 the script does not compile."
)]
pub struct Cli {
    /// Script file to run (with -e, the first script argument instead).
    pub file: Option<PathBuf>,
    /// Script arguments, `$1`, `$2`, ... in the script (`str($1)` for text).
    #[arg(value_name = "ARGS", trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
    /// Program text to run (instead of a file).
    #[arg(short = 'e', long = "expr", value_name = "PROGRAM")]
    pub expr: Option<String>,
    /// Print the generated eBPF programs (verifier syntax) and exit without loading them.
    #[arg(short = 'd', long = "disassemble")]
    pub disassemble: bool,
    /// Write the ELF object to FILE and exit without loading it.
    #[arg(long = "emit-obj", value_name = "FILE")]
    pub emit_obj: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'f', long = "format", value_enum, default_value = "text")]
    pub format: Format,
    /// Stop after SECS seconds (fractions allowed), print the maps and exit.
    #[arg(long = "duration", value_name = "SECS")]
    pub duration: Option<f64>,
    /// List probe kinds and tracepoints matching PATTERN (`*` wildcards).
    #[arg(short = 'l', long = "list", value_name = "PATTERN")]
    pub list: Option<Option<String>>,
    /// Say which mechanism each probe uses.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
}

impl Cli {
    /// The script's name (for diagnostics) and text.
    pub fn source(&self) -> Result<(String, String), String> {
        match (&self.expr, &self.file) {
            (Some(text), None) => Ok(("<-e>".to_string(), text.clone())),
            (None, Some(path)) => {
                let bytes = std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
                let text = String::from_utf8(bytes).map_err(|error| {
                    format!("{} is not UTF-8 text (byte {})", path.display(), error.utf8_error().valid_up_to())
                })?;
                Ok((path.display().to_string(), text))
            }
            (Some(text), Some(_)) => Ok(("<-e>".to_string(), text.clone())),
            (None, None) => Err("no program: give -e PROGRAM or a script file (see --help)".to_string()),
        }
    }

    /// The script's arguments: everything after the file, or every positional word with `-e`.
    pub fn positionals(&self) -> Vec<String> {
        let first = match (&self.expr, &self.file) {
            (Some(_), Some(word)) => Some(word.display().to_string()),
            _ => None,
        };
        first.into_iter().chain(self.args.iter().cloned()).collect()
    }
}
