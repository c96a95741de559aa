tracepoint:syscalls:sys_enter_getpid { }
tracepoint:syscalls:sys_exit_getpid { @ret[args.ret] = count(); }
