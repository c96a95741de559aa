//! The lowerings of builtins that have no IR of their own ([`ExprKind::Call`](crate::ir::ExprKind::Call)): the
//! registry's record of each (`sema/builtins.rs`) names its lowering here.

use super::Gen;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{ExprKind, Lowered};
use jitterlib::insn::{AluOp, Builder, Helper, JmpOp, Reg, Size};

type Result<T> = std::result::Result<T, Diagnostic>;

/// How a builtin's value (of the call at `span`) is computed into `dst`.
pub(crate) type Lower = for<'a, 'g> fn(&'g mut Gen<'a>, &Lowered, Span, Reg) -> Result<()>;

/// `has_key(@m, k)`: 1 when `@m[k]` exists, else 0 (one lookup, no read of the value).
pub(crate) fn has_key(gen: &mut Gen, call: &Lowered, span: Span, dst: Reg) -> Result<()> {
    let map = call.map.ok_or_else(|| Diagnostic::new(Code::Internal, span, "has_key without a map"))?;
    let mark = gen.frame.mark();
    let key = gen.key(map, &call.args, None, span)?;
    gen.lookup(gen.user_map(map), key);
    flag_unless_r0(gen, JmpOp::Eq, dst);
    gen.frame.release(mark);
    Ok(())
}

/// `dst = 0` when `r0 op 0` holds, else `dst = 1`: a helper's result as a bool.
fn flag_unless_r0(gen: &mut Gen, op: JmpOp, dst: Reg) {
    let unset = gen.b.new_label();
    gen.b.mov64(dst, 0);
    gen.b.jump_if(op, Reg::R0, 0, unset);
    gen.b.mov64(dst, 1);
    gen.b.bind(unset);
}

/// `delete(@m, k)` as a value: 1 when `bpf_map_delete_elem` deleted an entry, else 0 (it returns -ENOENT).
pub(crate) fn delete(gen: &mut Gen, call: &Lowered, span: Span, dst: Reg) -> Result<()> {
    let map = call.map.ok_or_else(|| Diagnostic::new(Code::Internal, span, "delete without a map"))?;
    let mark = gen.frame.mark();
    let key = gen.key(map, &call.args, None, span)?;
    let object_map = gen.user_map(map);
    jitterlib::maps::map_call(&mut gen.b, Helper::MapDeleteElem, object_map, key, None);
    flag_unless_r0(gen, JmpOp::Ne, dst);
    gen.frame.release(mark);
    Ok(())
}

/// `len(@m)`: `bpf_for_each_map_elem(map, callback, NULL, 0)` with a callback that only returns 0 (go on), so the
/// helper's return value, the number of elements it visited, is the length (as bpftrace does where
/// `bpf_map_sum_elem_count` is missing). Needs Linux 5.13.
pub(crate) fn len(gen: &mut Gen, call: &Lowered, span: Span, dst: Reg) -> Result<()> {
    let map = call.map.ok_or_else(|| Diagnostic::new(Code::Internal, span, "len without a map"))?;
    let mut callback = Builder::new();
    callback.mov64(Reg::R0, 0);
    callback.exit();
    let callback = callback
        .finish()
        .map_err(|error| Diagnostic::new(Code::Internal, span, format!("cannot build len()'s callback: {error}")))?;
    let callback = gen.b.callback(callback);
    gen.b.ld_map(Reg::R1, gen.user_map(map));
    gen.b.ld_callback(Reg::R2, callback);
    gen.b.mov64(Reg::R3, 0);
    gen.b.mov64(Reg::R4, 0);
    gen.b.call(Helper::ForEachMapElem);
    gen.b.mov64(dst, Reg::R0);
    Ok(())
}

/// `strncmp(s1, s2, n)`: both strings into NUL-padded buffers, then their first `min(n, sizes)` bytes compared
/// word by word with no loop (the last word shifted to the bytes that count); 0 when equal, else 1.
pub(crate) fn strncmp(gen: &mut Gen, call: &Lowered, span: Span, dst: Reg) -> Result<()> {
    let internal = || Diagnostic::new(Code::Internal, span, "strncmp without its operands");
    let [lhs, rhs, limit] = &call.args[..] else { return Err(internal()) };
    let ExprKind::Const(limit) = limit.kind else { return Err(internal()) };
    let bytes = (limit as u64).min(u64::from(lhs.ty.size().min(rhs.ty.size()))) as i16;
    let mark = gen.frame.mark();
    let left = gen.frame.alloc(lhs.ty.size(), lhs.span)?;
    gen.string_into(lhs, left, lhs.ty.size())?;
    let right = gen.frame.alloc(rhs.ty.size(), rhs.span)?;
    gen.string_into(rhs, right, rhs.ty.size())?;
    let differ = gen.b.new_label();
    gen.b.mov64(dst, 1);
    for word in 0..(bytes + 7) / 8 {
        gen.b.load(Size::DW, Reg::R1, Reg::R10, left + 8 * word);
        gen.b.load(Size::DW, Reg::R2, Reg::R10, right + 8 * word);
        let counted = (bytes - 8 * word).min(8);
        if counted < 8 {
            // Little-endian: the first bytes are the low ones; shift the others out.
            gen.b.alu64(AluOp::Xor, Reg::R1, Reg::R2);
            gen.b.alu64(AluOp::Lsh, Reg::R1, i32::from(64 - 8 * counted));
            gen.b.jump_if(JmpOp::Ne, Reg::R1, 0, differ);
        } else {
            gen.b.jump_if(JmpOp::Ne, Reg::R1, Reg::R2, differ);
        }
    }
    gen.b.mov64(dst, 0);
    gen.b.bind(differ);
    gen.frame.release(mark);
    Ok(())
}

/// `write_user(dst, src, len)`: the string copied to the stack, then `bpf_probe_write_user(dst, copy, len)`;
/// 1 when it returned 0 (written), else 0.
pub(crate) fn write_user(gen: &mut Gen, call: &Lowered, span: Span, dst: Reg) -> Result<()> {
    let internal = || Diagnostic::new(Code::Internal, span, "write_user without its operands");
    let [address, text, len] = &call.args[..] else { return Err(internal()) };
    let ExprKind::Const(len) = len.kind else { return Err(internal()) };
    let mark = gen.frame.mark();
    let size = text.ty.size();
    let copy = gen.frame.alloc(size, text.span)?;
    gen.string_into(text, copy, size)?;
    let target = gen.value(address)?;
    gen.b.mov64(Reg::R1, target);
    gen.frame.give(target);
    gen.b.mov64(Reg::R2, Reg::R10);
    gen.b.alu64(AluOp::Add, Reg::R2, i32::from(copy));
    gen.b.mov64(Reg::R3, len as i32);
    gen.b.call(Helper::ProbeWriteUser);
    flag_unless_r0(gen, JmpOp::Ne, dst);
    gen.frame.release(mark);
    Ok(())
}

/// `jiffies`: the kernel's 64-bit jiffies counter (`bpf_jiffies64`, since 5.5).
pub(crate) fn jiffies(gen: &mut Gen, _: &Lowered, _: Span, dst: Reg) -> Result<()> {
    helper_value(gen, Helper::Jiffies64, dst)
}

/// `numaid`: the NUMA node of the CPU running the program (`bpf_get_numa_node_id`).
pub(crate) fn numaid(gen: &mut Gen, _: &Lowered, _: Span, dst: Reg) -> Result<()> {
    helper_value(gen, Helper::GetNumaNodeId, dst)
}

/// `rand`: a pseudo-random 32-bit number (`bpf_get_prandom_u32`).
pub(crate) fn rand(gen: &mut Gen, _: &Lowered, _: Span, dst: Reg) -> Result<()> {
    helper_value(gen, Helper::GetPrandomU32, dst)
}

/// `dst` = what a helper without arguments returns.
fn helper_value(gen: &mut Gen, helper: Helper, dst: Reg) -> Result<()> {
    gen.b.call(helper);
    gen.b.mov64(dst, Reg::R0);
    Ok(())
}
