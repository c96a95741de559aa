//! Verifier rejections point into the script: a compiled program with one instruction corrupted inside a known
//! expression is loaded into the running kernel, and the rendered rejection must put the caret on that expression
//! and quote the verifier.

use jitterlang::diag::Diagnostics;
use jitterlang::runtime::{self, RunError};
use jitterlib::insn::opcode::{BPF_ALU64, BPF_DW, BPF_K, BPF_LDX, BPF_MEM, BPF_MUL};
use jitterlib::insn::Insn;
use jitterlib::kernel::FixtureKernel;
use jitterlib::session::SessionError;
use jitterlib::testing::can_trace;

const SCRIPT: &str = "tracepoint:irq:softirq_entry {\n    @total = sum(args.vec * 3);\n}\n";

/// Where `args.vec * 3` is written: line 2, column 18.
const PRODUCT: &str = "args.vec * 3";

#[test]
fn a_rejected_instruction_is_reported_at_its_expression() {
    if !can_trace("a_rejected_instruction_is_reported_at_its_expression") {
        return;
    }
    let mut compiled = jitterlang::compile(SCRIPT, &FixtureKernel::bundled()).expect("compiles");
    let unit = &mut compiled.programs[0];
    let start = SCRIPT.find(PRODUCT).expect("the product is in the script");
    let multiply = (0..unit.program.len())
        .find(|&insn| {
            let code = unit.program.insns[insn].code;
            code == BPF_ALU64 | BPF_MUL | BPF_K && unit.span_of(insn).map(|span| span.start) == Some(start)
        })
        .expect("the product's code multiplies");
    // `rN *= 3` becomes `rN = *(u64 *)(rN + 0)`: a load through a number, which the verifier refuses.
    let original = unit.program.to_bytes();
    let dst = unit.program.insns[multiply].dst;
    unit.program.insns[multiply] = Insn::new(BPF_LDX | BPF_MEM | BPF_DW, dst, dst, 0, 0);
    let at = compiled.object.windows(original.len()).position(|window| window == original).expect("program bytes");
    let corrupted = compiled.programs[0].program.to_bytes();
    compiled.object[at..at + original.len()].copy_from_slice(&corrupted);

    let program = compiled.programs[0].name.clone();
    let log = match runtime::load(&compiled) {
        Err(RunError::Session(SessionError::Verifier { program: rejected, log })) if rejected == program => log,
        Err(other) => panic!("expected a verifier rejection of {program}, got {other}"),
        Ok(_) => panic!("the verifier accepted a load through a scalar"),
    };
    let diagnostic = jitterlang::verifier::rejection(&compiled, &program, &log, false).expect("a probe's program");
    let text = Diagnostics(vec![diagnostic]).render("test.jl", SCRIPT);
    let refusal = format!("R{dst} invalid mem access 'scalar'");
    let expected_head = format!(
        "\
error[E0900]: the kernel verifier rejected the program for `tracepoint:irq:softirq_entry`
  --> test.jl:2:18
  |
2 |     @total = sum(args.vec * 3);
  |                  ^^^^^^^^^^^^ {refusal}
"
    );
    assert!(text.starts_with(&expected_head), "{text}\nlog:\n{log}");
    assert!(text.contains(&format!("fails at {multiply}: (79) r{dst} = *(u64 *)(r{dst} +0)")), "{text}");
    assert!(text.contains(&format!("\n    {refusal}\n")), "the verifier's line is quoted:\n{text}");
}
