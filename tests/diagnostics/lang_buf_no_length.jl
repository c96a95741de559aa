tracepoint:syscalls:sys_enter_write { @[buf(args.buf)] = count(); }
