tracepoint:syscalls:sys_enter_write { @bytes = hist(args.count, 2); }
