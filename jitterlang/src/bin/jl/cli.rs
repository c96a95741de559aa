//! Command-line options.

use clap::{Parser, ValueEnum};
use std::io::Read;
use std::path::PathBuf;

/// Output formats of `-f`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// bpftrace's text layout.
    Text,
    /// One JSON object per line.
    Json,
    /// Folded stacks of maps keyed by a stack, kstack or ustack (flame graph input); everything else on stderr.
    Folded,
}

/// bpftrace's developer modes (`--mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Compile the script to BPF and exit without loading it.
    Codegen,
    /// The same as `codegen` (bpftrace times its compiler with it; `time jl --mode codegen ...` does here).
    CompilerBench,
    /// Run the `bench:` blocks instead of attaching probes: each many times, printing its mean time.
    Bench,
    /// bpftrace runs its `test:` probes; jl has none and refuses it.
    Test,
    /// bpftrace formats the script; jl has no formatter and refuses it.
    Format,
}

impl Mode {
    /// Why jl refuses the mode and what to use instead; `None` for the modes jl runs.
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            Mode::Codegen | Mode::CompilerBench | Mode::Bench => None,
            Mode::Test => Some(
                "--mode test runs bpftrace's `test:` probes, which jl does not have: check a script's programs \
                 with --dry-run (the verifier loads them) and run it against real events",
            ),
            Mode::Format => {
                Some("--mode format formats a script, and jl has no formatter: -d prints what it compiles to")
            }
        }
    }

    /// Whether the mode compiles the script and exits without loading it.
    pub fn compiles_only(self) -> bool {
        matches!(self, Mode::Codegen | Mode::CompilerBench)
    }
}

/// The heading of bpftrace's options that jl refuses, each saying what to use instead.
const REFUSED: &str = "bpftrace options jl refuses (each says what to use instead)";

/// jl: trace the kernel with jitterlang one-liners and scripts, compiled straight to eBPF.
#[derive(Debug, Parser)]
#[command(
    name = "jl",
    version,
    after_help = "Examples:
  jl -e 'timer(\"estimation_timer\") < hist(dur) >'
  jl -e 'tracepoint:irq:softirq_entry { @[args.vec] = count(); }' --duration 5
  jl -e 'timer() { @[func] = sum(dur); }' -i 1 --prometheus 127.0.0.1:9435
  jl -d -e 'timer() { @[func] = sum(dur); }'
  jl -v -l 'tracepoint:irq:*'
  jl -c 'sleep 1' -e 'tracepoint:syscalls:sys_enter_nanosleep { @ = count(); }'
  jl script.jl 10 sshd        ($1 is 10, str($2) is \"sshd\")

Exit codes: 0 success, 1 load/attach/run failure, 2 the script does not compile."
)]
pub struct Cli {
    /// Script file to run, `-` for standard input (with -e, the first script argument instead).
    pub file: Option<PathBuf>,
    /// Script arguments, `$1`, `$2`, ... in the script (`str($1)` for text).
    #[arg(value_name = "ARGS", trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
    /// Set the script parameter NAME (declared `param $NAME = default`, or read `getopt("NAME", default)`) to VALUE;
    /// repeatable. bpftrace's `-- --NAME=VALUE` after the script does the same.
    #[arg(long = "arg", value_name = "NAME=VALUE", value_parser = parse_named_arg)]
    pub named_args: Vec<(String, String)>,
    /// Program text to run (instead of a file).
    #[arg(short = 'e', long = "expr", value_name = "PROGRAM")]
    pub expr: Option<String>,
    /// Print the generated eBPF programs (verifier syntax) and exit without loading them.
    #[arg(short = 'd', long = "disassemble")]
    pub disassemble: bool,
    /// Write the ELF object to FILE and exit without loading it (bpftrace's --emit-elf).
    #[arg(long = "emit-obj", visible_alias = "emit-elf", value_name = "FILE")]
    pub emit_obj: Option<PathBuf>,
    /// Compile and load every program into the kernel (the verifier checks them), attach nothing, exit.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Output format.
    #[arg(short = 'f', long = "format", value_enum, default_value = "text")]
    pub format: Format,
    /// Write the output to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Stop after SECS seconds (fractions allowed), print the maps and exit.
    #[arg(long = "duration", value_name = "SECS")]
    pub duration: Option<f64>,
    /// Also print the maps every SECS seconds while tracing.
    #[arg(short = 'i', long = "interval", value_name = "SECS")]
    pub interval: Option<f64>,
    /// Only trace events of process PID (adds `pid == PID` to every probe but BEGIN/END).
    #[arg(short = 'p', long = "pid", value_name = "PID", value_parser = parse_pid)]
    pub pid: Option<u32>,
    /// Run CMD (through /bin/sh) once the probes are attached; stop tracing when it exits.
    #[arg(short = 'c', long = "command", value_name = "CMD")]
    pub command: Option<String>,
    /// Allow statements that act on the system: signal() and system().
    #[arg(long = "unsafe")]
    pub unsafe_actions: bool,
    /// Keys each keyed map holds (default 4096, as bpftrace's max_map_keys); inserts beyond it are counted as
    /// map_full. Maps are preallocated: a larger limit takes more memory and start-up time.
    #[arg(
        long = "map-keys",
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..=i64::from(jitterlang::codegen::MAX_MAP_KEYS))
    )]
    pub map_keys: Option<u32>,
    /// Write an SVG flame graph of the maps keyed by a stack (kstack or ustack) to FILE at exit.
    #[arg(long = "flamegraph", value_name = "FILE")]
    pub flamegraph: Option<PathBuf>,
    /// Serve the maps as OpenMetrics for Prometheus at http://ADDR:PORT/metrics while tracing.
    #[arg(long = "prometheus", value_name = "ADDR:PORT")]
    pub prometheus: Option<String>,
    /// List probe kinds and tracepoints matching PATTERN, the word after the options (`*` wildcards; all when
    /// none); with -v, their typed args: `jl -l PATTERN -v`, `jl -l -v PATTERN` and `jl -lv PATTERN` are alike.
    /// `jl -l builtins` lists the builtin functions and variables; `jl -l -e PROGRAM` and `jl -l FILE` the
    /// probes of a program.
    #[arg(short = 'l', long = "list")]
    pub list: bool,
    /// Do not print warnings: the compiler's and `warnf()` messages (bpftrace's --no-warnings); reports of lost
    /// data still print.
    #[arg(long = "no-warnings")]
    pub no_warnings: bool,
    /// Do not print the `Attached N probes` line (bpftrace's -q); errors and warnings still print.
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Say which mechanism each probe uses and, once attached, how long compiling and attaching took; with -l,
    /// list tracepoint fields; with -d, name the script construct of each run of instructions; show the whole
    /// verifier log of a rejected program.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Do not use fentry (BPF trampolines) where jl chooses the mechanism (`kfunc`, `kretfunc`, the function
    /// points of typed probes such as skb): kprobes stand in where the kernel has them.
    #[arg(long = "no-fentry")]
    pub no_fentry: bool,
    /// Print the kernel, jl's build and the mechanisms jl can attach with here (as bpftrace's --info).
    #[arg(long = "info")]
    pub info: bool,
    /// List the bundled investigation scripts (run one with `jl NAME`).
    #[arg(long = "list-scripts")]
    pub list_scripts: bool,
    /// Only run the probes whose full name (`interval:ms:200`, `tracepoint:irq:softirq_entry`) matches REGEX
    /// somewhere (bpftrace's --probe-filter); BEGIN and END always run.
    #[arg(long = "probe-filter", value_name = "REGEX", value_parser = parse_probe_filter)]
    pub probe_filter: Option<regex_lite::Regex>,
    /// bpftrace's developer modes: `codegen` (and `compiler-bench`) compiles and exits without loading; `bench`
    /// runs the `bench:` blocks; jl refuses `test` and `format`, saying what to use instead.
    #[arg(long = "mode", value_name = "MODE", value_enum)]
    pub mode: Option<Mode>,
    /// Accepted for bpftrace's scripts: jl always activates a USDT probe's semaphore through the kernel, in
    /// every process that maps the binary, as this flag asks bpftrace to.
    #[arg(long = "usdt-file-activation")]
    pub usdt_file_activation: bool,
    /// Accepted for bpftrace's scripts (bpftrace's: warn when a probe read fails): jl always counts the reads
    /// that fail and says how many at exit (`read_failed` in JSON), rather than a line each.
    #[arg(short = 'k', long = "warnings")]
    pub warnings: bool,
    /// bpftrace's: #include FILE before C preprocessing. Refused: jl has no C preprocessor.
    #[arg(long = "include", value_name = "FILE", help_heading = REFUSED)]
    pub include: Option<String>,
    /// bpftrace's: add DIR to the include path. Refused: jl has no C preprocessor.
    #[arg(short = 'I', value_name = "DIR", help_heading = REFUSED)]
    pub include_dir: Option<String>,
    /// bpftrace's: read the traceable kernel functions from FILE. Refused: jl reads them from the kernel.
    #[arg(long = "traceable-functions", value_name = "FILE", help_heading = REFUSED)]
    pub traceable_functions: Option<String>,
    /// bpftrace's: processes for its DWARF unwinder. Refused: jl walks user stacks by frame pointers.
    #[arg(long = "dwarf-pid", value_name = "PID", help_heading = REFUSED)]
    pub dwarf_pid: Option<String>,
    /// bpftrace's: output buffering. Refused: jl flushes its output after each event.
    #[arg(short = 'B', value_name = "MODE", help_heading = REFUSED)]
    pub buffering: Option<String>,
    /// bpftrace's `--mode test`. Refused, as that mode.
    #[arg(long = "test", help_heading = REFUSED)]
    pub test: bool,
    /// The same as `--mode bench`: run the `bench:` blocks, each many times, and print their mean times.
    #[arg(long = "bench")]
    pub bench: bool,
    /// bpftrace's `--mode format`. Refused, as that mode.
    #[arg(long = "fmt", help_heading = REFUSED)]
    pub fmt: bool,
    /// Print a shell completion script for SHELL and exit.
    #[arg(long = "completions", value_name = "SHELL")]
    pub completions: Option<clap_complete::Shell>,
}

/// What `jl -l` lists.
#[derive(Debug, PartialEq)]
pub enum Listing {
    /// The probes matching a pattern (all of them when none is given).
    Pattern(Option<String>),
    /// The probes of a program: its name (for diagnostics) and text.
    Program {
        /// `<-e>` or the file's path.
        name: String,
        /// The program.
        text: String,
    },
}

impl Cli {
    /// The script's name (for diagnostics) and text.
    pub fn source(&self) -> Result<(String, String), String> {
        match (&self.expr, &self.file) {
            (Some(text), None) => Ok(("<-e>".to_string(), text.clone())),
            (None, Some(path)) => {
                if let Some(script) = jitterlang::scripts::find(&path.to_string_lossy()).filter(|_| !path.exists()) {
                    return Ok((format!("{}.jl (bundled)", script.name), script.source.to_string()));
                }
                let stdin = path.as_os_str() == "-";
                let read = match stdin {
                    true => {
                        let mut bytes = Vec::new();
                        std::io::stdin().read_to_end(&mut bytes).map(|_| bytes)
                    }
                    false => std::fs::read(path),
                };
                let name = if stdin { "<stdin>".to_string() } else { path.display().to_string() };
                let bytes = read.map_err(|error| format!("cannot read {name}: {error}"))?;
                if let Some(at) = bytes.iter().position(|byte| *byte == 0) {
                    return Err(format!("{name} contains a NUL byte (byte {at}): it is not a script"));
                }
                let text = String::from_utf8(bytes)
                    .map_err(|error| format!("{name} is not UTF-8 text (byte {})", error.utf8_error().valid_up_to()))?;
                Ok((name, text))
            }
            (Some(text), Some(_)) => Ok(("<-e>".to_string(), text.clone())),
            (None, None) => Err("no program: give -e PROGRAM or a script file (see --help)".to_string()),
        }
    }

    /// What `-l` lists: the probes of the program of `-e` or of a script file, or those matching the first
    /// positional word (clap cannot tell `-lv` from `-l v` when `-l` takes an optional value, so `-l` is a flag
    /// and the pattern is positional); an error when more words follow.
    pub fn listing(&self) -> Result<Listing, String> {
        match (&self.expr, self.args.first(), &self.file) {
            (Some(_), _, _) => self.source().map(|(name, text)| Listing::Program { name, text }),
            (None, Some(extra), _) => {
                Err(format!("-l takes one PATTERN, not also {extra:?} (quote a pattern with spaces)"))
            }
            (None, None, Some(path)) if path.is_file() => {
                self.source().map(|(name, text)| Listing::Program { name, text })
            }
            (None, None, word) => Ok(Listing::Pattern(word.as_ref().map(|word| word.display().to_string()))),
        }
    }

    /// Whether to run the `bench:` blocks rather than attach the probes (`--mode bench`, `--bench`).
    pub fn benchmarks(&self) -> bool {
        self.bench || self.mode == Some(Mode::Bench)
    }

    /// Whether to compile the script and exit without loading it (`-d`, `--emit-obj`, `--mode codegen`).
    pub fn compiles_only(&self) -> bool {
        self.disassemble || self.emit_obj.is_some() || self.mode.is_some_and(Mode::compiles_only)
    }

    /// Why jl refuses an option of bpftrace's that the command line gives, and what to use instead.
    pub fn refusal(&self) -> Option<String> {
        let mode = [(self.test, Mode::Test), (self.fmt, Mode::Format)]
            .into_iter()
            .find(|(given, _)| *given)
            .map(|(_, mode)| mode)
            .or(self.mode);
        if let Some(refusal) = mode.and_then(Mode::refusal) {
            return Some(refusal.to_string());
        }
        let preprocessor = "jl has no C preprocessor: define a struct (`struct foo { int a; }`) or an enum \
                            (`enum { EPERM = 1 }`) in the script, or a `macro`; kernel types come from BTF";
        let refused = [
            (self.include.is_some(), preprocessor),
            (self.include_dir.is_some(), preprocessor),
            (
                self.traceable_functions.is_some(),
                "--traceable-functions names a file of traceable kernel functions: jl reads them from the kernel \
                 (`jl -l 'kprobe:*'`)",
            ),
            (
                self.dwarf_pid.is_some(),
                "--dwarf-pid feeds bpftrace's DWARF unwinder: jl walks user stacks by frame pointers (`ustack`); \
                 build the program with -fno-omit-frame-pointer",
            ),
            (
                self.buffering.is_some(),
                "-B sets bpftrace's output buffering: jl flushes its output after each event it prints",
            ),
        ];
        refused.into_iter().find(|(given, _)| *given).map(|(_, why)| why.to_string())
    }

    /// The script's arguments: everything after the file, or every positional word with `-e`; words starting
    /// with `--` (after `--`, as bpftrace takes them) are named options instead ([`Cli::named_params`]).
    pub fn positionals(&self) -> Vec<String> {
        self.script_words().filter(|word| !word.starts_with("--")).collect()
    }

    /// The named parameters: each `--arg NAME=VALUE`, then each bpftrace-style `--NAME=VALUE` or `--NAME` (a
    /// bool option set to true) among the script's arguments.
    pub fn named_params(&self) -> Vec<(String, String)> {
        let options = self.script_words().filter_map(|word| {
            let option = word.strip_prefix("--")?;
            Some(match option.split_once('=') {
                Some((name, value)) => (name.to_string(), value.to_string()),
                None => (option.to_string(), "true".to_string()),
            })
        });
        self.named_args.iter().cloned().chain(options).collect()
    }

    fn script_words(&self) -> impl Iterator<Item = String> + '_ {
        let first = match (&self.expr, &self.file) {
            (Some(_), Some(word)) => Some(word.display().to_string()),
            _ => None,
        };
        first.into_iter().chain(self.args.iter().cloned())
    }
}

/// The REGEX of `--probe-filter`, in bpftrace's words when it is not one.
fn parse_probe_filter(text: &str) -> Result<regex_lite::Regex, String> {
    regex_lite::Regex::new(text).map_err(|error| format!("Invalid --probe-filter regex '{text}': {error}"))
}

/// The PID of `-p`: a process that exists (a filter on any other traces nothing).
fn parse_pid(text: &str) -> Result<u32, String> {
    let pid: u32 = text.parse().map_err(|_| "a PID is a decimal number".to_string())?;
    match std::path::Path::new(&format!("/proc/{pid}")).exists() {
        true => Ok(pid),
        false => Err(format!("no process has PID {pid}")),
    }
}

/// `NAME=VALUE` of `--arg`.
fn parse_named_arg(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.trim_start_matches('$').to_string(), value.to_string())),
        _ => Err(format!("expected NAME=VALUE (e.g. --arg cpu=0), not {text:?}")),
    }
}
