tracepoint:syscalls:sys_enter_write { @bytes = quantiles(args.count); }
