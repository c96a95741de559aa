// ustack: a user stack id (BPF_F_USER_STACK) with the process id above it, tgid << 32 | id.
tracepoint:syscalls:sys_enter_getpid { @[ustack] = count(); }
