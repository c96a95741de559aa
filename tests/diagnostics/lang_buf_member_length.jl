tracepoint:syscalls:sys_enter_getpid { @[buf(curtask->comm, 20)] = count(); }
