tracepoint:syscalls:sys_enter_getpid { @[ntop(curtask->real_parent)] = count(); }
