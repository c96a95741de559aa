tracepoint:syscalls:sys_enter_openat { @[comm, pid] = count(); }
