//! The arguments of a USDT probe site: the x86-64 assembler operands `<sys/sdt.h>` records for each
//! (`-4@%edi`, `8@-8(%rbp)`, `-4@$5`), read into where the value is found when the probe fires.
//!
//! Each operand is `SIZE@OPERAND`: the size in bytes, negative for a signed value, then a register, a
//! constant or a memory operand `DISPLACEMENT(%REGISTER)`. Operands with an index register or RIP-relative
//! ones (a global variable's symbol) are refused, naming the operand.

/// Byte offsets in x86-64 `struct pt_regs` of each general register, by its 64-bit name.
const PT_REGS: [(&str, u32); 17] = [
    ("r15", 0),
    ("r14", 8),
    ("r13", 16),
    ("r12", 24),
    ("rbp", 32),
    ("rbx", 40),
    ("r11", 48),
    ("r10", 56),
    ("r9", 64),
    ("r8", 72),
    ("rax", 80),
    ("rcx", 88),
    ("rdx", 96),
    ("rsi", 104),
    ("rdi", 112),
    ("rip", 128),
    ("rsp", 152),
];

/// A register of `struct pt_regs`, or a part of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Register {
    /// Byte offset of the whole 64-bit register in `struct pt_regs`.
    pub(super) offset: u32,
    /// Bits the value is shifted up by in it: 8 for `%ah`, `%bh`, `%ch`, `%dh`, else 0.
    pub(super) shift: u8,
}

/// Where an argument's value is when the probe fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Location {
    /// In a register.
    Register(Register),
    /// In the process's memory at a register plus a displacement.
    Memory {
        /// The base register.
        base: Register,
        /// Bytes added to it.
        displacement: i32,
    },
    /// A constant the compiler knew.
    Constant(i64),
}

/// One argument of a USDT probe site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Arg {
    /// Its size in bytes: 1, 2, 4 or 8.
    pub(super) size: u8,
    /// Whether it is signed.
    pub(super) signed: bool,
    /// Where its value is.
    pub(super) location: Location,
}

/// The arguments of a site, from its operands separated by spaces; the error names the operand jl cannot read.
pub(super) fn parse_args(operands: &str) -> Result<Vec<Arg>, String> {
    operands.split_whitespace().map(|operand| parse_arg(operand).ok_or_else(|| operand.to_string())).collect()
}

fn parse_arg(operand: &str) -> Option<Arg> {
    let (size, place) = operand.split_once('@')?;
    let (signed, size) = match size.strip_prefix('-') {
        Some(size) => (true, size),
        None => (false, size),
    };
    let size: u8 = size.parse().ok().filter(|size| matches!(size, 1 | 2 | 4 | 8))?;
    let location = if let Some(constant) = place.strip_prefix('$') {
        Location::Constant(integer(constant)?)
    } else if let Some(name) = place.strip_prefix('%') {
        Location::Register(register(name)?)
    } else {
        let (displacement, rest) = place.split_once('(')?;
        let name = rest.strip_suffix(')')?.strip_prefix('%')?;
        let displacement = if displacement.is_empty() { 0 } else { i32::try_from(integer(displacement)?).ok()? };
        let base = register(name).filter(|base| base.shift == 0 && base.offset != RIP)?;
        Location::Memory { base, displacement }
    };
    Some(Arg { size, signed, location })
}

/// Offset of `rip` in `struct pt_regs`: at a uprobe it holds the probe's address, not the next instruction's
/// that a RIP-relative operand counts from.
const RIP: u32 = 128;

/// A decimal or `0x` hexadecimal integer, maybe negative.
fn integer(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    let value = match digits.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok()? as i64,
        None => digits.parse::<u64>().ok()? as i64,
    };
    Some(if negative { value.wrapping_neg() } else { value })
}

/// The register an AT&T name stands for (`rdi`, `edi`, `di`, `dil`, `r8d`, `ah`, ...).
fn register(name: &str) -> Option<Register> {
    let whole = |name: &str| PT_REGS.iter().find(|(known, _)| *known == name).map(|(_, offset)| *offset);
    let low = |offset| Some(Register { offset, shift: 0 });
    if let Some(offset) = whole(name) {
        return low(offset);
    }
    // r8..r15 and their parts: r8d, r8w, r8b.
    if let Some(number) = name.strip_prefix('r') {
        let digits = number.trim_end_matches(['d', 'w', 'b']);
        if digits.len() + 1 >= number.len() && !digits.is_empty() {
            return low(whole(&format!("r{digits}"))?);
        }
    }
    // The legacy registers: eax, ax, al, ah; esi, si, sil; ebp, bp, bpl.
    let bare = name.strip_prefix('e').filter(|rest| rest.len() == 2).unwrap_or(name);
    let (family, shift) = match bare {
        "ah" | "bh" | "ch" | "dh" => (&bare[..1], 8),
        "al" | "bl" | "cl" | "dl" => (&bare[..1], 0),
        "sil" | "dil" | "bpl" | "spl" => (&bare[..2], 0),
        _ => (bare, 0),
    };
    let full = match family {
        "a" | "b" | "c" | "d" => format!("r{family}x"),
        "ax" | "bx" | "cx" | "dx" | "si" | "di" | "bp" | "sp" | "ip" => format!("r{family}"),
        _ => return None,
    };
    Some(Register { offset: whole(&full)?, shift })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(offset: u32) -> Register {
        Register { offset, shift: 0 }
    }

    #[test]
    fn reads_the_forms_gcc_writes() {
        let args = parse_args("-4@%edi 8@-8(%rbp) -4@$5 8@%rax 1@%ah 2@(%rsp) 8@%r13 -4@%r9d 8@$0x10").unwrap();
        let located: Vec<(u8, bool, Location)> = args.iter().map(|arg| (arg.size, arg.signed, arg.location)).collect();
        assert_eq!(
            located,
            [
                (4, true, Location::Register(reg(112))),
                (8, false, Location::Memory { base: reg(32), displacement: -8 }),
                (4, true, Location::Constant(5)),
                (8, false, Location::Register(reg(80))),
                (1, false, Location::Register(Register { offset: 80, shift: 8 })),
                (2, false, Location::Memory { base: reg(152), displacement: 0 }),
                (8, false, Location::Register(reg(16))),
                (4, true, Location::Register(reg(64))),
                (8, false, Location::Constant(16)),
            ]
        );
    }

    #[test]
    fn names_every_width_of_a_register() {
        for name in ["rsi", "esi", "si", "sil"] {
            assert_eq!(register(name), Some(reg(104)), "{name}");
        }
        for name in ["rdx", "edx", "dx", "dl"] {
            assert_eq!(register(name), Some(reg(96)), "{name}");
        }
        for name in ["r10", "r10d", "r10w", "r10b"] {
            assert_eq!(register(name), Some(reg(56)), "{name}");
        }
        assert_eq!(register("xmm0"), None);
        assert_eq!(register("r16"), None);
    }

    #[test]
    fn refuses_what_it_cannot_read_naming_the_operand() {
        assert_eq!(parse_args("8@%rax 4@(%rax,%rbx,4)"), Err("4@(%rax,%rbx,4)".to_string()));
        assert_eq!(parse_args("8@counter(%rip)"), Err("8@counter(%rip)".to_string()));
        assert_eq!(parse_args("8@8(%rip)"), Err("8@8(%rip)".to_string()));
        assert_eq!(parse_args("3@%rax"), Err("3@%rax".to_string()));
        assert_eq!(parse_args("8@%xmm0"), Err("8@%xmm0".to_string()));
        assert_eq!(parse_args("%rax"), Err("%rax".to_string()));
        assert_eq!(parse_args(""), Ok(Vec::new()));
    }
}
