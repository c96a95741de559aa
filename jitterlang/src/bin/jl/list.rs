//! `jl -l [PATTERN]`: probe kinds from the registry and the kernel's tracepoints.

use jitterlib::kernel::KernelInfo;
use jitterlib::probe::REGISTRY;
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

/// Shell-style matching with `*` (any run) and `?` (one character).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn matches_wildcards() {
        assert!(glob("tracepoint:irq:*", "tracepoint:irq:softirq_entry"));
        assert!(glob("*softirq*", "tracepoint:irq:softirq_exit"));
        assert!(!glob("tracepoint:irq:*", "tracepoint:timer:timer_init"));
        assert!(glob("t?mer", "timer"));
    }
}
