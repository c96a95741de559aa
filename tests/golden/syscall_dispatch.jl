tracepoint:syscalls:sys_enter_openat { @opens = count(); }
tracepoint:syscalls:sys_enter_openat /args.flags == 0/ { @read_only = count(); }
tracepoint:syscalls:sys_exit_openat { @failed[args.ret < 0] = count(); }
