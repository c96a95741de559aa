tracepoint:syscalls:sys_exit_openat { print(strerror(-args.ret)); }
