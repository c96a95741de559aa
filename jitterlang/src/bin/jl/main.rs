//! `jl`: run jitterlang scripts (one-liners with `-e`, or files), print their disassembly, list probes.

mod child;
mod cli;
mod failure;
mod info;
mod list;
mod output;
mod repl;

use clap::{CommandFactory, Parser};
use cli::{Cli, Format, Listing};
use jitterlang::runtime::{self, MetricsExporter, OutputFormat, RunError, RunOptions};
use jitterlang::CompileOptions;
use jitterlib::kernel::{KernelInfo, LiveKernel, TracepointMechanism};
use jitterlib::probe::Trigger;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The environment variable that picks the mechanism typed probes reach tracepoints with where the kernel allows
/// it: `tp_btf` (tried first), `raw` (the default) or `perf` (the fallback of kernels before 4.17), for tests.
const TRACEPOINT_MECHANISM_VAR: &str = "JL_TRACEPOINT_MECHANISM";

/// The environment variable naming the directory where jl keeps the index of the running kernel's BTF across
/// runs (empty: keep nothing); by default `/var/cache/jl` for root, else `$XDG_CACHE_HOME/jl` or `~/.cache/jl`.
const CACHE_DIR_VAR: &str = "JL_CACHE_DIR";

/// Exit code for a script that does not compile.
const EXIT_COMPILE_ERROR: u8 = 2;
/// Exit code for a failure while loading or running.
const EXIT_RUNTIME_ERROR: u8 = 1;

fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    if let Some(shell) = cli.completions {
        // Into memory first: `generate` panics when it cannot write.
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "jl", &mut script);
        return output::finish(output::write(String::from_utf8_lossy(&script)));
    }
    if cli.list_scripts {
        return output::finish(list_scripts());
    }
    if let Some(refusal) = cli.refusal() {
        eprintln!("jl: {refusal}");
        return ExitCode::from(EXIT_COMPILE_ERROR);
    }
    if !cli.list && !cli.info && !cli.compiles_only() {
        // aya's feature probes and the loader are built on another CPU while this one reads the script and
        // compiles it.
        jitterlib::session::prepare_loader();
    }
    let kernel = match live_kernel(&cli) {
        Ok(kernel) => kernel,
        Err(message) => {
            eprintln!("jl: {message}");
            return ExitCode::from(EXIT_COMPILE_ERROR);
        }
    };
    if cli.info {
        return output::finish(info::print(&kernel));
    }
    if cli.list {
        return match cli.listing() {
            Ok(Listing::Pattern(pattern)) => list::print(pattern.as_deref(), cli.verbose, &kernel),
            Ok(Listing::Program { name, text }) => list::print_program(&name, &text, cli.verbose, &kernel),
            Err(message) => {
                eprintln!("jl: {message}");
                ExitCode::from(EXIT_COMPILE_ERROR)
            }
        };
    }
    let options = CompileOptions {
        pid: cli.pid,
        args: cli.positionals(),
        named_args: cli.named_params(),
        unsafe_actions: cli.unsafe_actions,
        map_keys: cli.map_keys,
        environment: jitterlang::config::ENVIRONMENT
            .iter()
            .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?)))
            .collect(),
        // `errorf()` names a script read from standard input `stdin`, as bpftrace does (and as `-e`'s).
        file_name: cli
            .file
            .as_ref()
            .filter(|path| cli.expr.is_none() && path.as_os_str() != "-")
            .map(|path| path.display().to_string()),
        pid_namespace: jitterlang::PidNamespace::of_this_process(),
    };
    if cli.expr.is_none() && cli.file.is_none() && std::io::stdin().is_terminal() {
        if !options.named_args.is_empty() {
            eprintln!("jl: --arg sets a parameter of one script: give the script with -e or a file, not at the prompt");
            return ExitCode::from(EXIT_COMPILE_ERROR);
        }
        return repl::run(repl::Settings { kernel: Arc::new(kernel), compile: options, verbose: cli.verbose });
    }
    let (file_name, source) = match cli.source() {
        Ok(found) => found,
        Err(message) => {
            eprintln!("jl: {message}");
            return ExitCode::from(EXIT_COMPILE_ERROR);
        }
    };
    let script = failure::Script { name: &file_name, source: &source };
    let compile_only = cli.compiles_only();
    let mut compiled = match jitterlang::compile_with(&source, &kernel, &options) {
        Ok(compiled) => compiled,
        Err(diagnostics) => {
            eprint!("{}", diagnostics.render(&file_name, &source));
            return ExitCode::from(EXIT_COMPILE_ERROR);
        }
    };
    let timeline = Timeline { started, compiled: Instant::now() };
    if !cli.no_warnings {
        eprint!("{}", compiled.warnings.render(&file_name, &source));
    }
    if let Some(filter) = &cli.probe_filter {
        compiled.retain_probes(|probe| filter.is_match(probe));
        if compiled.programs.is_empty() {
            eprintln!("jl: No probes to attach: none matches --probe-filter '{filter}'");
            return ExitCode::from(EXIT_RUNTIME_ERROR);
        }
    }
    if let Some(path) = &cli.emit_obj {
        if let Err(error) = std::fs::write(path, &compiled.object) {
            eprintln!("jl: cannot write {}: {error}", path.display());
            return ExitCode::from(EXIT_RUNTIME_ERROR);
        }
    }
    if cli.disassemble {
        let listing = if cli.verbose { compiled.disassembly_with_source(&source) } else { compiled.disassembly() };
        return output::finish(output::write(listing));
    }
    if compile_only {
        return ExitCode::SUCCESS;
    }
    if cli.dry_run {
        return match runtime::load(&compiled) {
            Ok(_unloaded_on_drop) => {
                eprintln!(
                    "jl: the verifier accepted {} program(s); nothing attached (dry run)",
                    compiled.programs.len()
                );
                ExitCode::SUCCESS
            }
            Err(error) => runtime_failure(&failure::report(&error, &compiled, &script, cli.verbose)),
        };
    }
    if !cli.benchmarks() && compiled.programs.iter().all(|unit| unit.trigger == Some(Trigger::Bench)) {
        eprintln!("jl: No probes to attach: `bench:` blocks run only with --mode bench");
        return ExitCode::from(EXIT_RUNTIME_ERROR);
    }
    if cli.verbose {
        for unit in &compiled.programs {
            eprintln!("jl: {} -> {} ({} insns)", unit.describe, unit.attach.target(), unit.program.len());
        }
        for note in &compiled.notes {
            eprintln!("jl: {note}");
        }
        if let Some(origin) = kernel.btf_index_origin() {
            eprintln!("jl: {origin}");
        }
    }
    match run(&cli, &compiled, &kernel, &script, timeline) {
        Ok(status) => ExitCode::from(status),
        Err(message) => runtime_failure(&message),
    }
}

/// The running kernel, with the mechanisms the command line (`--no-fentry`) and the environment
/// ([`TRACEPOINT_MECHANISM_VAR`]) rule out, its BTF index kept in [`cache_dir`].
fn live_kernel(cli: &Cli) -> Result<LiveKernel, String> {
    let kernel = match cache_dir() {
        Some(dir) => LiveKernel::new().with_btf_cache(dir),
        None => LiveKernel::new(),
    };
    let kernel = match cli.no_fentry {
        true => kernel.without_fentry("turned off with --no-fentry"),
        false => kernel,
    };
    let Some(value) = std::env::var_os(TRACEPOINT_MECHANISM_VAR) else { return Ok(kernel) };
    let value = value.to_string_lossy();
    match TracepointMechanism::parse(&value) {
        Some(mechanism) => {
            Ok(kernel
                .with_tracepoint_mechanism(mechanism, format!("turned off with {TRACEPOINT_MECHANISM_VAR}={value}")))
        }
        None => Err(format!("{TRACEPOINT_MECHANISM_VAR} is `{value}`: it takes tp_btf, raw or perf")),
    }
}

/// Where jl keeps what it learns about the running kernel across runs: [`CACHE_DIR_VAR`] when set (`None` when it
/// is empty), else `/var/cache/jl` for root, else the user's cache directory; `None` when there is none.
fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(CACHE_DIR_VAR) {
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return Some(PathBuf::from("/var/cache/jl"));
    }
    let absolute = |dir: std::ffi::OsString| Some(PathBuf::from(dir)).filter(|dir| dir.is_absolute());
    let user_cache = std::env::var_os("XDG_CACHE_HOME").and_then(absolute);
    let user_cache = user_cache.or_else(|| std::env::var_os("HOME").and_then(absolute).map(|home| home.join(".cache")));
    user_cache.map(|dir| dir.join("jl"))
}

/// When this run of jl reached its steps, for `-v`'s account of the time to attached.
#[derive(Clone, Copy)]
struct Timeline {
    /// When `main` began (the exec and the dynamic linker's work before it are not counted).
    started: Instant,
    /// When the script was compiled (the arguments parsed, the script read and compiled).
    compiled: Instant,
}

impl Timeline {
    /// The `-v` line for probes attached at `attached`: the time since `main` began, split at the compile's end.
    fn attached(&self, attached: Instant) -> String {
        let ms = |from: Instant, to: Instant| to.saturating_duration_since(from).as_secs_f64() * 1000.0;
        format!(
            "attached {:.2} ms after start: {:.2} ms reading and compiling the script, {:.2} ms loading and \
             attaching",
            ms(self.started, attached),
            ms(self.started, self.compiled),
            ms(self.compiled, attached)
        )
    }
}

/// Prints the bundled scripts, one a line with its summary.
fn list_scripts() -> std::io::Result<()> {
    for script in jitterlang::scripts::BUNDLED {
        output::line(format_args!("{:<20} {}", script.name, script.summary()))?;
    }
    Ok(())
}

/// Prints a load/attach/run failure (the whole text, newline included) and returns its exit code.
fn runtime_failure(text: &str) -> ExitCode {
    eprint!("{text}");
    ExitCode::from(EXIT_RUNTIME_ERROR)
}

/// Runs the compiled script: its exit status (`exit(code)`, else 0), or the whole text of the error to print.
fn run(
    cli: &Cli,
    compiled: &jitterlang::codegen::Compiled,
    kernel: &dyn KernelInfo,
    script: &failure::Script,
    timeline: Timeline,
) -> Result<u8, String> {
    let stop = Arc::new(AtomicBool::new(false));
    // Each stops the run the same way: END runs, the maps print, and every program detaches as the session drops.
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|error| format!("jl: cannot install the signal handler: {error}\n"))?;
    }
    let exporter = match &cli.prometheus {
        Some(address) => {
            let exporter = MetricsExporter::bind(address).map_err(|error| {
                format!("jl: cannot serve metrics on {address}: {}\n", failure::with_causes(&error))
            })?;
            eprintln!("Serving OpenMetrics on http://{}/metrics", exporter.address());
            Some(exporter)
        }
        None => None,
    };
    let command = cli.command.clone();
    let verbose = cli.verbose;
    let child_stop = Arc::clone(&stop);
    let options = RunOptions {
        duration: cli.duration.map(Duration::from_secs_f64),
        format: match cli.format {
            Format::Text => OutputFormat::Text,
            Format::Json => OutputFormat::Json,
            Format::Folded => OutputFormat::Folded,
        },
        on_attached: Some(Box::new(move |_| {
            if verbose {
                eprintln!("jl: {}", timeline.attached(Instant::now()));
            }
            if let Some(command) = &command {
                child::spawn_then_stop(command, Arc::clone(&child_stop));
            }
        })),
        print_every: cli.interval.map(Duration::from_secs_f64),
        wait_without_probes: cli.command.is_some()
            || cli.duration.is_some()
            || cli.interval.is_some()
            || cli.prometheus.is_some(),
        announce_attached: !cli.quiet,
        benchmarks: cli.benchmarks(),
        no_warnings: cli.no_warnings,
        exporter,
        control: None,
        flamegraph: cli.flamegraph.clone(),
        status_line: cli.format == Format::Text && cli.output.is_none() && std::io::stderr().is_terminal(),
    };
    let mut out: Box<dyn Write> = match &cli.output {
        Some(path) => {
            let file = std::fs::File::create(path);
            Box::new(file.map_err(|error| format!("jl: cannot create {}: {error}\n", path.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    match runtime::run(compiled, kernel, &options, &mut out, &stop) {
        // The reader went away (`jl ... | head`): stop quietly, as a pipeline expects; the programs detached
        // when the session dropped.
        Err(RunError::Output(error)) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(error) => Err(failure::report(&error, compiled, script, cli.verbose)),
        // `exit(code)`: the low 8 bits, what the shell sees of a process's exit status (as C's exit()).
        Ok(report) => Ok(report.exit_code as u8),
    }
}
