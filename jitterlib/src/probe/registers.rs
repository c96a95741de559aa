//! The saved registers of the interrupted context (`struct pt_regs` on x86-64), which kprobes, uprobes and perf
//! events get as (the start of) their program context: what bpftrace's `reg("name")` reads.

use super::{Field, FieldSource, FieldType};
use crate::session::Attach;

/// Each register bpftrace names on x86-64, with its byte offset in `struct pt_regs` (`arch/x86/include/asm/ptrace.h`).
pub const REGISTERS: [(&str, u32); 22] = [
    ("r15", 0),
    ("r14", 8),
    ("r13", 16),
    ("r12", 24),
    ("bp", 32),
    ("bx", 40),
    ("r11", 48),
    ("r10", 56),
    ("r9", 64),
    ("r8", 72),
    ("ax", 80),
    ("cx", 88),
    ("dx", 96),
    ("si", 104),
    ("di", 112),
    ("orig_rax", 120),
    ("ip", 128),
    ("pc", 128),
    ("cs", 136),
    ("flags", 144),
    ("sp", 152),
    ("ss", 160),
];

/// Whether a program attached here gets the saved registers as its context: kprobes, uprobes and perf events
/// (whose `bpf_perf_event_data` starts with them). Tracepoints, raw tracepoints, fentry and BEGIN/END do not.
pub fn has_registers(attach: &Attach) -> bool {
    matches!(attach, Attach::Kprobe { .. } | Attach::Kretprobe { .. } | Attach::Uprobe { .. } | Attach::Perf { .. })
}

/// The register `name` as a field of the context: an unsigned 64-bit read at its `pt_regs` offset; `None` for a
/// name x86-64 does not have.
pub fn register_field(name: &str) -> Option<Field> {
    let (_, offset) = REGISTERS.iter().find(|(known, _)| *known == name)?;
    Some(Field {
        name: format!("reg(\"{name}\")"),
        ty: FieldType::Int { size: 8, signed: false },
        source: FieldSource::Context { offset: *offset },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_agree_with_the_argument_registers_kprobes_read() {
        let offset = |name| register_field(name).map(|field| field.source);
        assert_eq!(offset("di"), Some(FieldSource::Context { offset: super::super::kprobe::ARG_REGISTERS[0] }));
        assert_eq!(offset("ax"), Some(FieldSource::Context { offset: super::super::kprobe::RETURN_REGISTER }));
        assert_eq!(offset("ip"), offset("pc"));
        assert_eq!(offset("sp"), Some(FieldSource::Context { offset: 152 }));
        assert_eq!(offset("rip"), None);
    }
}
