// `.` on a struct pointer reads through it, as `->` does (bpftrace 0.27 accepts both): the same two reads as
// `curtask->real_parent->tgid`.
tracepoint:syscalls:sys_enter_getpid { @ = curtask.real_parent.tgid; }
