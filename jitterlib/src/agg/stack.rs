//! Stack-id fields: which stack-trace map their ids index, and how a user-space stack's field carries its
//! process.
//!
//! A field holding a stack is 8 bytes. For kernel stacks it is the id `bpf_get_stackid` returned,
//! sign-extended (negative: no stack recorded). For user stacks (`BPF_F_USER_STACK`) the id is in the low
//! 32 bits and the process id (tgid) in the high 32 bits, because user addresses mean something only in
//! their process: the same stack of two processes is two keys.

/// The most frames a stack-trace map records: the kernel's `PERF_MAX_STACK_DEPTH`, the default of
/// `kernel.perf_event_max_stack`.
pub const MAX_STACK_FRAMES: u32 = 127;

/// How a stack prints: bpftrace's stack modes that jl has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StackMode {
    /// bpftrace's default (`kstack(bpftrace)`): a frame a line, `symbol+offset`, indented.
    Symbols,
    /// `kstack(raw)`: a frame a line, the address in hex without `0x`, not indented (bpftrace's layout).
    Raw,
}

/// Which stacks a field holds: kernel or user space, how many frames (the value size of the stack-trace
/// map whose ids it holds; the kernel cuts a stack at that depth before hashing it, so two stacks that differ
/// only below it share one id), and how they print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StackKind {
    /// User-space stacks (`ustack`) rather than kernel stacks (`kstack`).
    pub user: bool,
    /// Most frames recorded, 1 to [`MAX_STACK_FRAMES`].
    pub frames: u32,
    /// How the frames print (the stack map is the same for every mode).
    pub mode: StackMode,
}

impl StackKind {
    /// Kernel stacks of up to [`MAX_STACK_FRAMES`] frames (`kstack`).
    pub const KERNEL: StackKind = StackKind { user: false, frames: MAX_STACK_FRAMES, mode: StackMode::Symbols };
    /// User stacks of up to [`MAX_STACK_FRAMES`] frames (`ustack`).
    pub const USER: StackKind = StackKind { user: true, frames: MAX_STACK_FRAMES, mode: StackMode::Symbols };

    /// The same kind of stack cut at `frames` frames.
    pub fn with_frames(self, frames: u32) -> StackKind {
        StackKind { frames, ..self }
    }

    /// The same kind of stack printed in `mode`.
    pub fn with_mode(self, mode: StackMode) -> StackKind {
        StackKind { mode, ..self }
    }

    /// The process (user stacks only) and the stack id of a field's raw 8 bytes; a negative id means no stack
    /// was recorded.
    pub fn split(self, raw: u64) -> (Option<u32>, i64) {
        if self.user {
            (Some((raw >> 32) as u32), i64::from(raw as u32 as i32))
        } else {
            (None, raw as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_fields_carry_the_process_above_the_id() {
        assert_eq!(StackKind::USER.split(1234 << 32 | 7), (Some(1234), 7));
        assert_eq!(StackKind::USER.split(1234 << 32 | u64::from(-14i32 as u32)), (Some(1234), -14));
        assert_eq!(StackKind::KERNEL.split(-17i64 as u64), (None, -17));
        assert_eq!(StackKind::KERNEL.with_frames(3), StackKind { user: false, frames: 3, mode: StackMode::Symbols });
        assert_eq!(StackKind::USER.with_mode(StackMode::Raw).mode, StackMode::Raw);
    }
}
