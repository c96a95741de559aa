tracepoint:syscalls:sys_enter_openat { join(args.filename, 1); }
