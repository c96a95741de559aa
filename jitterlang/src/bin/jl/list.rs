//! `jl -l [PATTERN]`: probe kinds from the registry, the fixed targets of those that have them
//! (`software:cpu-clock:`, `interval:ms:`) and the kernel's tracepoints; with `rawtracepoint:NAME` (no
//! wildcard), that raw tracepoint; with `uprobe:BINARY:PATTERN` (or `uretprobe:`), the binary's functions; with
//! `usdt:BINARY:[PROVIDER:]NAME`, its USDT probes; `jl -l builtins`: the builtins, from theirs.

use crate::output;
use jitterlang::ast::ProbeKind;
use jitterlang::sema::builtins::REGISTRY as BUILTINS;
use jitterlib::kernel::KernelInfo;
use jitterlib::probe::{self, glob, usdt_probes, user_functions, REGISTRY};
use std::io;
use std::process::ExitCode;

/// The pattern that lists the builtins instead of the probes.
const BUILTINS_WORD: &str = "builtins";

/// Prints the probe kinds and the tracepoints matching `pattern`; with `fields`, each tracepoint's typed args.
/// `builtins` lists the builtins instead.
pub fn print(pattern: Option<&str>, fields: bool, kernel: &dyn KernelInfo) -> ExitCode {
    let pattern = pattern.unwrap_or("*");
    if pattern == BUILTINS_WORD {
        return output::finish(print_builtins());
    }
    // bpftrace's list of patterns, `struct task_struct,struct file`: each listed in turn.
    let listed =
        pattern.split(',').try_fold(0, |matched, pattern| Ok(matched + print_matches(pattern, fields, kernel)?));
    match listed {
        Ok(0) => {
            let file_like = !pattern.contains(':') && (pattern.ends_with(".bt") || pattern.ends_with(".jl"));
            match file_like {
                true => eprintln!(
                    "jl: nothing matches `{pattern}`, and no file has that name (`jl -l FILE` lists a script's probes)"
                ),
                false => eprintln!("jl: nothing matches `{pattern}`"),
            }
            ExitCode::from(1)
        }
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => output::finish(Err(error)),
    }
}

/// Prints the probes of the program `text` (named `name` in diagnostics) as the listing names them, as bpftrace's
/// `-l -e PROGRAM` does: a counted probe by its target (`interval:ms:100` is `interval:ms:`), a path by what
/// matches it (a tracepoint, each one of a wildcard), a typed probe or `BEGIN` by its kind.
pub fn print_program(name: &str, text: &str, fields: bool, kernel: &dyn KernelInfo) -> ExitCode {
    let script = match jitterlang::syntax::parse(text) {
        Ok(script) => script,
        Err(diagnostics) => {
            eprint!("{}", diagnostics.render(name, text));
            return ExitCode::from(2);
        }
    };
    let mut matched = 0;
    for probe in script.blocks.iter().flat_map(|block| &block.probes) {
        let listed = match &probe.kind {
            ProbeKind::Path(parts) => print_path(parts, fields, kernel),
            ProbeKind::Typed { name, .. } => print_matches(name, fields, kernel),
        };
        match listed {
            Ok(count) => matched += count,
            Err(error) => return output::finish(Err(error)),
        }
    }
    if matched == 0 {
        eprintln!("jl: no probe of the program matches one of this kernel");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// Prints the listing entries of the probe path `parts`: its kind's target when the kind has fixed ones,
/// else what matches the path.
fn print_path(parts: &[String], fields: bool, kernel: &dyn KernelInfo) -> io::Result<usize> {
    let kind = parts.first().and_then(|first| probe::kind(first));
    if let Some((kind, targets)) = kind.and_then(|kind| Some((kind, kind.targets?))) {
        let written = format!("{}:{}:", kind.name, parts[1..].join(":"));
        let target = targets().into_iter().find(|target| written.starts_with(target.as_str()));
        return match target {
            Some(target) => output::line(&target).map(|()| 1),
            None => Ok(0),
        };
    }
    print_matches(&parts.join(":"), fields, kernel)
}

/// Prints what matches `pattern` and returns how many probe kinds and tracepoints did.
fn print_matches(pattern: &str, fields: bool, kernel: &dyn KernelInfo) -> io::Result<usize> {
    if let [kind @ ("uprobe" | "uretprobe"), binary, functions] = pattern.split(':').collect::<Vec<_>>()[..] {
        return print_functions(kind, binary, functions);
    }
    if let ["usdt" | "U", binary, rest @ ..] = &pattern.split(':').collect::<Vec<_>>()[..] {
        match rest {
            [provider, name] => return print_usdt(binary, provider, name),
            [name] => return print_usdt(binary, "*", name),
            [] => return print_usdt(binary, "*", "*"),
            _ => {}
        }
    }
    if let Some((keyword @ ("struct" | "union"), name)) = pattern.split_once(' ') {
        return print_record(keyword == "union", name.trim(), fields, kernel);
    }
    if let ["rawtracepoint" | "rawtp", .., name] = &pattern.split(':').collect::<Vec<_>>()[..] {
        if !name.contains(['*', '?', '[']) && pattern.split(':').count() <= 3 {
            return print_raw_tracepoint(name, fields, kernel);
        }
    }
    let mut matched = 0;
    for kind in REGISTRY {
        if glob(pattern, kind.name) || glob(pattern, kind.syntax) {
            output::line(format_args!("{:<28} {}", kind.syntax, kind.about))?;
            for (field, meaning) in kind.fields {
                output::line(format_args!("    {field:<24} {meaning}"))?;
            }
            matched += 1;
        }
        for target in kind.targets.map(|targets| targets()).unwrap_or_default() {
            if glob(pattern, &target) {
                output::line(&target)?;
                matched += 1;
            }
        }
    }
    match kernel.tracepoints() {
        Ok(tracepoints) => {
            for (category, name) in tracepoints {
                let full = format!("tracepoint:{category}:{name}");
                if glob(pattern, &full) {
                    output::line(&full)?;
                    if fields {
                        print_args(&category, &name, kernel)?;
                    }
                    matched += 1;
                }
            }
        }
        Err(error) => eprintln!("jl: cannot list tracepoints: {error}"),
    }
    Ok(matched)
}

/// Prints `struct NAME` (or `union NAME`) when the kernel's BTF has it; with `fields`, its definition as C, as
/// bpftrace prints it (`vmlinux: struct NAME {`, a member a line, `};` and a blank line). Names take no wildcard.
fn print_record(union: bool, name: &str, fields: bool, kernel: &dyn KernelInfo) -> io::Result<usize> {
    let keyword = if union { "union" } else { "struct" };
    if name.contains(['*', '?', '[']) {
        eprintln!("jl: `{keyword} {name}`: struct and union names take no wildcard (`jl -lv '{keyword} task_struct'`)");
        return Ok(0);
    }
    let definition = match kernel.record_definition(union, name) {
        Ok(Some(definition)) => definition,
        Ok(None) => return Ok(0),
        Err(error) => {
            eprintln!("jl: cannot read the kernel's BTF: {error}");
            return Ok(0);
        }
    };
    match fields {
        true => output::line(format_args!("vmlinux: {definition}"))?,
        false => output::line(format_args!("{keyword} {name}"))?,
    }
    Ok(1)
}

/// Prints `rawtracepoint:NAME` when the kernel's BTF has that raw tracepoint; with `fields`, its arguments as the
/// probe types them (bpftrace's listing leaves out the context pointer before them too).
fn print_raw_tracepoint(name: &str, fields: bool, kernel: &dyn KernelInfo) -> io::Result<usize> {
    let params = match kernel.raw_tracepoint_params(name) {
        Ok(Some(params)) => params,
        Ok(None) => return Ok(0),
        Err(error) => {
            eprintln!("jl: cannot read the raw tracepoints: {error}");
            return Ok(0);
        }
    };
    output::line(format_args!("rawtracepoint:{name}"))?;
    if fields {
        for (param, c_type) in &params {
            output::line(format_args!("    args.{param:<20} {c_type}"))?;
        }
    }
    Ok(1)
}

/// Prints `KIND:PATH:FUNCTION` for each function of `binary` matching `pattern`.
fn print_functions(kind: &str, binary: &str, pattern: &str) -> io::Result<usize> {
    let (path, functions) = match user_functions(binary, pattern) {
        Ok(found) => found,
        Err(error) => {
            eprintln!("jl: {error}");
            return Ok(0);
        }
    };
    for function in &functions {
        output::line(format_args!("{kind}:{path}:{function}"))?;
    }
    Ok(functions.len())
}

/// Prints `usdt:PATH:PROVIDER:NAME` for each USDT probe of `binary` whose provider and name match.
fn print_usdt(binary: &str, provider: &str, name: &str) -> io::Result<usize> {
    let (path, probes) = match usdt_probes(binary, provider, name) {
        Ok(found) => found,
        Err(error) => {
            eprintln!("jl: {error}");
            return Ok(0);
        }
    };
    for (provider, name) in &probes {
        output::line(format_args!("usdt:{path}:{provider}:{name}"))?;
    }
    Ok(probes.len())
}

/// Prints one line per builtin: how it is written, what kind it is, what it does.
fn print_builtins() -> io::Result<()> {
    for builtin in BUILTINS {
        output::line(format_args!("{:<28} {:<12} {}", builtin.usage(), builtin.kind().describe(), builtin.doc))?;
    }
    Ok(())
}

/// Prints `args.NAME  C-TYPE` for each field of a tracepoint.
fn print_args(category: &str, name: &str, kernel: &dyn KernelInfo) -> io::Result<()> {
    match kernel.tracepoint(category, name) {
        Ok(format) => {
            for field in format.fields.iter().filter(|field| !field.common) {
                let array = field.array_len.map(|len| format!("[{len}]")).unwrap_or_default();
                output::line(format_args!("    args.{:<20} {}{array}", field.name, field.c_type))?;
            }
            Ok(())
        }
        Err(error) => output::line(format_args!("    (cannot read its format: {error})")),
    }
}
