//! Reading a verifier log: which instruction the kernel was checking when it rejected the program, and what it
//! said. The log (level 1, what aya asks for) lists each instruction it checks as `N: (op) text`, numbered in
//! instruction slots, with register states in between; the error follows the last instruction it reached, then
//! statistics (`processed N insns ...`). Errors found before that walk (`unreachable insn 5`, `back-edge from insn
//! 7 to 3`) name their instruction in the message. See `do_check()` and `check_cfg()` in kernel/bpf/verifier.c.

/// State lines kept before the failing instruction in [`Rejection::excerpt`].
const CONTEXT_LINES: usize = 2;

/// Error lines kept after the failing instruction.
const MESSAGE_LINES: usize = 10;

/// What a verifier log says about a rejection.
///
/// ```
/// use jitterlib::session::Rejection;
///
/// let log = "0: R1=ctx() R10=fp0\n0: (b7) r0 = 0 ; R0=0\n1: (79) r2 = *(u64 *)(r0 +0)\n\
///            R0 invalid mem access 'scalar'\nprocessed 2 insns (limit 1000000)\n";
/// let rejection = Rejection::parse(log);
/// assert_eq!(rejection.insn, Some(1));
/// assert_eq!(rejection.message, ["R0 invalid mem access 'scalar'"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rejection {
    /// The instruction slot the verifier rejected (the index in [`crate::insn::Program::insns`]), when the log
    /// names one.
    pub insn: Option<usize>,
    /// The error: the lines after the failing instruction (the whole log when it names none), without the
    /// statistics, at most ten.
    pub message: Vec<String>,
    /// The lines that explain it: the last register states before the failing instruction, its line, and
    /// [`Rejection::message`].
    pub excerpt: Vec<String>,
}

impl Rejection {
    /// Reads a verifier log.
    pub fn parse(log: &str) -> Rejection {
        let lines: Vec<&str> =
            log.lines().map(str::trim_end).filter(|line| !line.is_empty() && !is_statistics(line)).collect();
        let failing = lines.iter().rposition(|line| instruction_index(line).is_some());
        let (message_start, context_start) = match failing {
            Some(at) => (at + 1, at.saturating_sub(CONTEXT_LINES)),
            None => (0, 0),
        };
        let message: Vec<String> = lines[message_start..].iter().take(MESSAGE_LINES).map(|l| l.to_string()).collect();
        let insn = match failing {
            Some(at) => instruction_index(lines[at]),
            None => message.iter().find_map(|line| named_instruction(line)),
        };
        let excerpt =
            lines[context_start..message_start].iter().map(|l| l.to_string()).chain(message.clone()).collect();
        Rejection { insn, message, excerpt }
    }
}

/// The index of an instruction line, `8: (79) r2 = *(u64 *)(r7 +0)`; `None` for other lines, including register
/// states (`8: R1=ctx()`).
fn instruction_index(line: &str) -> Option<usize> {
    let (index, rest) = line.split_once(": (")?;
    let (opcode, _) = rest.split_once(") ")?;
    let is_opcode = opcode.len() == 2 && opcode.bytes().all(|b| b.is_ascii_hexdigit());
    let is_index = !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit());
    if is_opcode && is_index {
        index.parse().ok()
    } else {
        None
    }
}

/// The first `insn N` of a message (`unreachable insn 2`, `back-edge from insn 7 to 3`).
fn named_instruction(line: &str) -> Option<usize> {
    line.split(' ')
        .collect::<Vec<_>>()
        .windows(2)
        .find(|pair| pair[0] == "insn")
        .and_then(|pair| pair[1].trim_end_matches(|c: char| !c.is_ascii_digit()).parse().ok())
}

/// The statistics the kernel appends to every log (`BPF_LOG_STATS` and the final count).
fn is_statistics(line: &str) -> bool {
    ["verification time ", "stack depth ", "processed "].iter().any(|prefix| line.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Linux 6.18 (this project's host): a load through a scalar after a branch.
    const SCALAR_6_18: &str = "\
0: R1=ctx() R10=fp0
0: (bf) r6 = r1                       ; R1=ctx() R6=ctx()
1: (85) call bpf_get_current_pid_tgid#14      ; R0=scalar()
2: (bf) r7 = r0                       ; R0=scalar(id=1) R7=scalar(id=1)
3: (77) r7 >>= 32                     ; R7=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))
4: (15) if r7 == 0x0 goto pc+4        ; R7=scalar(smin=umin=umin32=1,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))
5: (18) r1 = 0x5                      ; R1=5
7: (07) r7 += 3                       ; R7=scalar(smin=umin=4,smax=umax=0x100000002,var_off=(0x0; 0x1ffffffff))
8: (79) r2 = *(u64 *)(r7 +0)
R7 invalid mem access 'scalar'
verification time 118 usec
stack depth 0
processed 8 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
";

    /// Linux 6.1 (Debian 6.1.0-56, the test VM): the same program.
    const SCALAR_6_1: &str = "\
0: R1=ctx(off=0,imm=0) R10=fp0
0: (bf) r6 = r1                       ; R1=ctx(off=0,imm=0) R6_w=ctx(off=0,imm=0)
1: (85) call bpf_get_current_pid_tgid#14      ; R0_w=scalar()
2: (bf) r7 = r0                       ; R0_w=scalar(id=1) R7_w=scalar(id=1)
3: (77) r7 >>= 32                     ; R7_w=scalar(umax=4294967295,var_off=(0x0; 0xffffffff))
4: (15) if r7 == 0x0 goto pc+4        ; R7_w=scalar(umax=4294967295,var_off=(0x0; 0xffffffff))
5: (18) r1 = 0x5                      ; R1_w=5
7: (07) r7 += 3                       ; R7_w=scalar(umin=3,umax=4294967298,var_off=(0x0; 0x1ffffffff))
8: (79) r2 = *(u64 *)(r7 +0)
R7 invalid mem access 'scalar'
verification time 6342 usec
stack depth 0
processed 8 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
";

    /// Linux 6.1: the branch target is checked first; its state follows the jump on the same line.
    const SECOND_PATH_6_1: &str = "\
0: R1=ctx(off=0,imm=0) R10=fp0
0: (85) call bpf_get_current_pid_tgid#14      ; R0_w=scalar()
1: (15) if r0 == 0x0 goto pc+2 4: R0_w=0 R10=fp0
4: (bf) r0 = r4
R4 !read_ok
verification time 285 usec
stack depth 0
processed 5 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
";

    /// Linux 6.18: a helper argument of the wrong type; the message is cut by the kernel's line length.
    const HELPER_6_18: &str = "\
0: R1=ctx() R10=fp0
0: (b7) r1 = 5                        ; R1=5
1: (b7) r2 = 8                        ; R2=8
2: (b7) r3 = 0                        ; R3=0
3: (85) call bpf_probe_read_kernel#113
R1 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_
verification time 56 usec
stack depth 0
processed 4 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
";

    /// Linux 6.1 (6.18 prints the same): found by the control-flow check, before any instruction is walked.
    const UNREACHABLE_6_1: &str = "\
unreachable insn 2
verification time 267 usec
stack depth 0
processed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
";

    #[test]
    fn a_bad_load_is_found_in_both_formats() {
        for log in [SCALAR_6_18, SCALAR_6_1] {
            let rejection = Rejection::parse(log);
            assert_eq!(rejection.insn, Some(8));
            assert_eq!(rejection.message, ["R7 invalid mem access 'scalar'"]);
            assert_eq!(rejection.excerpt.len(), 4, "{:?}", rejection.excerpt);
            assert!(rejection.excerpt[0].starts_with("5: (18) r1 = 0x5"), "{:?}", rejection.excerpt);
            assert_eq!(rejection.excerpt[2], "8: (79) r2 = *(u64 *)(r7 +0)");
        }
    }

    #[test]
    fn a_state_after_a_jump_is_not_the_failing_instruction() {
        let rejection = Rejection::parse(SECOND_PATH_6_1);
        assert_eq!(rejection.insn, Some(4));
        assert_eq!(rejection.message, ["R4 !read_ok"]);
    }

    #[test]
    fn a_helper_call_is_the_failing_instruction() {
        let rejection = Rejection::parse(HELPER_6_18);
        assert_eq!(rejection.insn, Some(3));
        assert!(rejection.message[0].starts_with("R1 type=scalar expected=fp"), "{:?}", rejection.message);
    }

    #[test]
    fn a_control_flow_error_names_its_instruction_in_the_message() {
        let rejection = Rejection::parse(UNREACHABLE_6_1);
        assert_eq!(rejection.insn, Some(2));
        assert_eq!(rejection.excerpt, ["unreachable insn 2"]);
        assert_eq!(Rejection::parse("back-edge from insn 7 to 3\n").insn, Some(7));
    }

    #[test]
    fn a_log_without_instructions_keeps_its_first_lines() {
        let log: String = (0..30).map(|i| format!("line {i}\n")).collect();
        let rejection = Rejection::parse(&log);
        assert_eq!(rejection.insn, None);
        assert_eq!(rejection.message.len(), MESSAGE_LINES);
        assert_eq!(Rejection::parse(""), Rejection::default());
    }

    #[test]
    fn register_states_are_not_instructions() {
        assert_eq!(instruction_index("8: R1=ctx() R10=fp0"), None);
        assert_eq!(instruction_index("from 4 to 6: (R0=0)"), None);
        assert_eq!(instruction_index("12: (85) call bpf_map_lookup_elem#1"), Some(12));
    }
}
