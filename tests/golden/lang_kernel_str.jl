tracepoint:syscalls:sys_enter_openat { @[str(args.filename, 32)] = count(); }
