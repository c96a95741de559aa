tracepoint:syscalls:sys_enter_openat { @[str(args.filename, 1000)] = count(); }
