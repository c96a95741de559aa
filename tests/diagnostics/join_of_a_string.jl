tracepoint:syscalls:sys_enter_openat { join(str(args.filename)); }
