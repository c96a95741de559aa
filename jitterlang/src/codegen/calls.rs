//! The lowerings of builtins that have no IR of their own ([`ExprKind::Call`](crate::ir::ExprKind::Call)): the
//! registry's record of each (`sema/builtins.rs`) names its lowering here.

use super::Gen;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::Lowered;
use jitterlib::insn::{Helper, JmpOp, Reg};

type Result<T> = std::result::Result<T, Diagnostic>;

/// How a builtin's value (of the call at `span`) is computed into `dst`.
pub(crate) type Lower = for<'a, 'g> fn(&'g mut Gen<'a>, &Lowered, Span, Reg) -> Result<()>;

/// `has_key(@m, k)`: 1 when `@m[k]` exists, else 0 (one lookup, no read of the value).
pub(crate) fn has_key(gen: &mut Gen, call: &Lowered, span: Span, dst: Reg) -> Result<()> {
    let map =
        call.map.ok_or_else(|| Diagnostic::new(Code::Unsupported, span, "internal error: has_key without a map"))?;
    let mark = gen.frame.mark();
    let key = gen.key(map, &call.args, None, span)?;
    gen.lookup(gen.user_map(map), key);
    let absent = gen.b.new_label();
    gen.b.mov64(dst, 0);
    gen.b.jump_if(JmpOp::Eq, Reg::R0, 0, absent);
    gen.b.mov64(dst, 1);
    gen.b.bind(absent);
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
