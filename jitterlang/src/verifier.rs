//! Verifier rejections explained against the script: the instruction the kernel's verifier refused, traced back
//! through the program's source map to the statement or expression whose code it is, as a diagnostic.

use crate::codegen::Compiled;
use crate::diag::{Code, Diagnostic};
use jitterlib::insn::disassemble_insn;
use jitterlib::session::{Attach, Rejection};

/// A diagnostic for the verifier's rejection of `program` (a program name of `compiled`) with its `log`: the caret
/// on the innermost construct whose code holds the failing instruction (the probe when the log names none), that
/// instruction, and the log lines that explain the rejection, or the whole log with `whole_log`. `None` when no
/// construct of the script produced the program (the start time of `elapsed`).
pub fn rejection(compiled: &Compiled, program: &str, log: &str, whole_log: bool) -> Option<Diagnostic> {
    let unit = compiled.programs.iter().find(|unit| unit.name == program)?;
    let probe = unit.spans.first().copied()?;
    let rejection = Rejection::parse(log);
    let span = rejection.insn.and_then(|insn| unit.span_of(insn)).unwrap_or(probe);
    let mut diagnostic = Diagnostic::new(
        Code::VerifierRejected,
        span,
        format!("the kernel verifier rejected the program for `{}`", unit.describe),
    );
    if let Some(first) = rejection.message.first() {
        diagnostic = diagnostic.with_label(first.clone());
    }
    let map_names: Vec<&str> = compiled.maps.iter().map(|map| map.name.as_str()).collect();
    if let Some(line) = rejection.insn.and_then(|insn| disassemble_insn(&unit.program, &map_names, insn)) {
        diagnostic = diagnostic.with_note(format!("program `{}` fails at {}", unit.name, line.trim_start()));
    }
    let (heading, lines): (_, Vec<&str>) = if whole_log {
        ("the verifier's log", log.lines().map(str::trim_end).filter(|line| !line.is_empty()).collect())
    } else {
        ("the verifier's log ends with", rejection.excerpt.iter().map(String::as_str).collect())
    };
    if !lines.is_empty() {
        diagnostic = diagnostic.with_note(format!("{heading}:\n{}", lines.join("\n")));
    }
    let whole = if whole_log { "" } else { " (`jl -v` prints the whole log)" };
    if matches!(unit.attach, Attach::Benchmark { .. }) {
        // An XDP program: the kernel offers it fewer helpers than a tracing program, and jl does not check them.
        return Some(diagnostic.with_hint(format!(
            "a `bench:` block runs as an XDP program, which the kernel gives no stacks, no kernel reads and fewer \
             helpers than a probe: benchmark code without them{whole}"
        )));
    }
    if log.contains("cannot use helper bpf_probe_write_user") {
        // bpf_tracing_func_proto (kernel/trace/bpf_trace.c) offers it only outside lockdown, to CAP_SYS_ADMIN.
        return Some(diagnostic.with_hint(
            "this kernel gives no program `bpf_probe_write_user` (`write_user()`): it does when not locked down \
             (`lockdown=` on its command line, /sys/kernel/security/lockdown) and jl has CAP_SYS_ADMIN",
        ));
    }
    Some(diagnostic.with_hint(format!(
        "jl should never emit a program the verifier rejects: please report this with the script, `uname -r` and \
         this message{whole}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jitterlib::kernel::FixtureKernel;

    const SCRIPT: &str = "tracepoint:irq:softirq_entry {\n    @[args.vec] = sum(args.vec * 3);\n}\n";

    /// The compiled script, its program, and the slot of the multiplication `args.vec * 3`.
    fn compiled() -> (Compiled, String, usize) {
        let compiled = crate::compile(SCRIPT, &FixtureKernel::bundled()).expect("compiles");
        let unit = &compiled.programs[0];
        let multiply = unit
            .program
            .insns
            .iter()
            .position(|insn| insn.code == 0x27 && insn.imm == 3)
            .expect("the program multiplies by 3");
        let name = unit.name.clone();
        (compiled, name, multiply)
    }

    #[test]
    fn the_caret_points_at_the_expression_of_the_failing_instruction() {
        let (compiled, program, multiply) = compiled();
        let log = format!("{multiply}: (27) r7 *= 3\nR7 !read_ok\nprocessed 9 insns\n");
        let diagnostic = rejection(&compiled, &program, &log, false).expect("a probe's program");
        let text = crate::diag::Diagnostics(vec![diagnostic]).render("test.jl", SCRIPT);
        let expected_head = "\
error[E0900]: the kernel verifier rejected the program for `tracepoint:irq:softirq_entry`
  --> test.jl:2:23
  |
2 |     @[args.vec] = sum(args.vec * 3);
  |                       ^^^^^^^^^^^^ R7 !read_ok
";
        assert!(text.starts_with(expected_head), "{text}");
        assert!(text.contains(&format!("fails at {multiply}: (27) r7 *= 3")), "{text}");
        assert!(text.contains(&format!("the verifier's log ends with:\n    {multiply}: (27) r7 *= 3")), "{text}");
        assert!(!text.contains("processed"), "{text}");
    }

    #[test]
    fn a_log_naming_no_instruction_points_at_the_probe() {
        let (compiled, program, _) = compiled();
        let diagnostic = rejection(&compiled, &program, "BPF program is too large\n", true).expect("a probe's program");
        assert_eq!((diagnostic.span.start, diagnostic.span.end), (0, "tracepoint:irq:softirq_entry".len()));
        assert_eq!(diagnostic.label.as_deref(), Some("BPF program is too large"));
        assert_eq!(diagnostic.notes, ["the verifier's log:\nBPF program is too large"]);
        assert!(rejection(&compiled, "no_such_program", "", false).is_none());
    }
}
