tracepoint:syscalls:sys_enter_write { @[buf(args.buf, 100)] = count(); }
