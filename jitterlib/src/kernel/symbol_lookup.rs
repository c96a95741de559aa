//! One kernel symbol's address from the kernel's own lookup, without `/proc/kallsyms`: a
//! `BPF_PROG_TYPE_SYSCALL` program that calls `bpf_kallsyms_lookup_name` (Linux 5.16), run once with
//! `BPF_PROG_TEST_RUN`.
//!
//! Generating `/proc/kallsyms` costs the kernel 40-60 ms on the development host, however little of it is
//! kept; loading and running this program costs well under a millisecond. The kernel's `kallsyms_lookup_name`
//! (<https://elixir.bootlin.com/linux/v6.18/source/kernel/kallsyms.c>) knows exact names only (not a compiler
//! clone such as `foo.constprop.0`) and, for a name it lists several times (static functions of the same name
//! in several files), returns one of them, the vmlinux one before any module's.

use std::io;
use std::os::fd::AsFd;

use crate::insn::{Builder, Helper, Program, Reg, Size};
use crate::sys;

/// The first kernel whose syscall programs may call `bpf_kallsyms_lookup_name`.
pub(crate) const LOOKUP_HELPER_SINCE: (u32, u32) = (5, 16);
/// The stack a BPF program may use: the name, its NUL and the 8-byte result slot must fit in it.
const STACK_SIZE: usize = 512;

/// The address of the kernel symbol named exactly `name`: `Ok(None)` when the kernel has no such symbol, an
/// error when the kernel cannot be asked this way (no syscall programs or no such helper, not privileged, or
/// addresses hidden from this process) or `name` cannot be a symbol name.
pub(crate) fn lookup_name(name: &str) -> io::Result<Option<u64>> {
    let program = program(name)?;
    let loaded = sys::syscall_program_load(&program.to_bytes())?;
    let mut result = [0u8; 8];
    // The helper's return value: 0, or a negative errno.
    match sys::prog_test_run(loaded.as_fd(), &mut result)? as i32 {
        0 => Ok(Some(u64::from_ne_bytes(result))),
        error if error == -libc::ENOENT => Ok(None),
        error => Err(io::Error::from_raw_os_error(-error)),
    }
}

/// The program for `name`: writes the name and its NUL to the stack, calls
/// `bpf_kallsyms_lookup_name(name, size, 0, &result)`, copies the result into its 8-byte context (which
/// `BPF_PROG_TEST_RUN` copies back for syscall programs) and returns what the helper returned.
fn program(name: &str) -> io::Result<Program> {
    let mut bytes = name.as_bytes().to_vec();
    bytes.push(0);
    let size = bytes.len();
    bytes.resize(size.next_multiple_of(8), 0);
    if name.is_empty() || name.contains('\0') || bytes.len() + 8 > STACK_SIZE {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("`{name}` cannot be a kernel symbol name")));
    }
    // Both fit in an i16: the stack is 512 bytes.
    let name_at = -(bytes.len() as i16);
    let result_at = name_at - 8;
    let mut b = Builder::new();
    b.mov64(Reg::R6, Reg::R1);
    for (index, chunk) in bytes.chunks_exact(8).enumerate() {
        let word: [u8; 8] = chunk.try_into().unwrap_or_default();
        b.ld_imm64(Reg::R1, u64::from_ne_bytes(word));
        b.store(Size::DW, Reg::R10, name_at + 8 * index as i16, Reg::R1);
    }
    b.store_imm(Size::DW, Reg::R10, result_at, 0);
    b.stack_pointer(Reg::R1, name_at);
    b.mov64(Reg::R2, size as i32);
    b.mov64(Reg::R3, 0);
    b.stack_pointer(Reg::R4, result_at);
    b.call(Helper::KallsymsLookupName);
    b.load(Size::DW, Reg::R1, Reg::R10, result_at);
    b.store(Size::DW, Reg::R6, 0, Reg::R1);
    b.exit();
    b.finish().map_err(io::Error::other)
}

/// The loaded module whose memory holds `address`, from `/proc/modules` text (`NAME SIZE REFS DEPS STATE
/// ADDRESS` per line): the one with the highest load address at or below it, within its size. `None` for a
/// vmlinux address, or when the addresses are hidden (all zero).
pub(crate) fn module_containing(modules: &str, address: u64) -> Option<String> {
    modules
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let size: u64 = fields.get(1)?.parse().ok()?;
            let base = u64::from_str_radix(fields.get(5)?.strip_prefix("0x")?, 16).ok()?;
            (base != 0 && base <= address && address - base < size).then_some((base, fields[0]))
        })
        .max_by_key(|(base, _)| *base)
        .map(|(_, name)| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::disassemble;

    #[test]
    fn the_program_passes_the_name_with_its_nul_and_its_size() {
        let text = disassemble(&program("run_timer_softirq").unwrap(), &[]);
        // 17 bytes and a NUL: three words on the stack, the size counting the NUL; the result slot is zeroed,
        // then read back.
        assert_eq!(text.matches("*(u64 *)(r10 -").count(), 5, "{text}");
        assert!(text.contains("r2 = 18"), "{text}");
        assert!(text.contains("call bpf_kallsyms_lookup_name"), "{text}");
    }

    #[test]
    fn refuses_names_that_cannot_be_symbols() {
        for name in ["", "a\0b", &"x".repeat(STACK_SIZE)] {
            let error = program(name).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{name:?}");
        }
    }

    #[test]
    fn finds_the_module_that_holds_an_address() {
        let modules = "\
ip_vs 200704 0 - Live 0xffffffffc0400000
nf_conntrack 180224 1 ip_vs, Live 0xffffffffc0380000
hidden 4096 0 - Live 0x0000000000000000
";
        assert_eq!(module_containing(modules, 0xffffffffc0401234).as_deref(), Some("ip_vs"));
        assert_eq!(module_containing(modules, 0xffffffffc0380010).as_deref(), Some("nf_conntrack"));
        assert_eq!(module_containing(modules, 0xffffffff81001000), None, "vmlinux");
        assert_eq!(module_containing(modules, 0xffffffffc0400000 + 200704), None, "past the end");
        assert_eq!(module_containing("", 0xffffffffc0401234), None);
    }
}
