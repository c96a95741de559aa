tracepoint:syscalls:sys_enter_openat { write_user(args.filename, "/tmp/x", 7); }
