tracepoint:syscalls:sys_enter_getpid { @[buf(curtask)] = count(); }
