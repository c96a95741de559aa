tracepoint:syscalls:sys_enter_write { @lo = min(args.count); @hi = max(args.count); @mean = avg(args.count); @all = stats(args.count); }
