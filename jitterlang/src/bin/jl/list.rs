//! `jl -l [PATTERN]`: probe kinds from the registry and the kernel's tracepoints.

use jitterlib::kernel::KernelInfo;
use jitterlib::probe::{glob, REGISTRY};
use std::process::ExitCode;

/// Prints the probe kinds and the tracepoints matching `pattern`; with `fields`, each tracepoint's typed args.
pub fn print(pattern: Option<&str>, fields: bool, kernel: &dyn KernelInfo) -> ExitCode {
    let pattern = pattern.unwrap_or("*");
    let mut matched = 0;
    for kind in REGISTRY {
        if glob(pattern, kind.name) || glob(pattern, kind.syntax) {
            println!("{:<28} {}", kind.syntax, kind.about);
            for (field, meaning) in kind.fields {
                println!("    {field:<24} {meaning}");
            }
            matched += 1;
        }
    }
    match kernel.tracepoints() {
        Ok(tracepoints) => {
            for (category, name) in tracepoints {
                let full = format!("tracepoint:{category}:{name}");
                if glob(pattern, &full) {
                    println!("{full}");
                    if fields {
                        print_args(&category, &name, kernel);
                    }
                    matched += 1;
                }
            }
        }
        Err(error) => eprintln!("jl: cannot list tracepoints: {error}"),
    }
    if matched == 0 {
        eprintln!("jl: nothing matches `{pattern}`");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// Prints `args.NAME  C-TYPE` for each field of a tracepoint.
fn print_args(category: &str, name: &str, kernel: &dyn KernelInfo) {
    match kernel.tracepoint(category, name) {
        Ok(format) => {
            for field in format.fields.iter().filter(|field| !field.common) {
                let array = field.array_len.map(|len| format!("[{len}]")).unwrap_or_default();
                println!("    args.{:<20} {}{array}", field.name, field.c_type);
            }
        }
        Err(error) => println!("    (cannot read its format: {error})"),
    }
}
