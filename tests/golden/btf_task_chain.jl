// BTF pointers: curtask is a struct task_struct *; each `->` is one bpf_probe_read_kernel at a BTF offset,
// the signed 4-byte tgid is sign-extended.
tracepoint:syscalls:sys_enter_getpid { @ = curtask->real_parent->tgid; }
