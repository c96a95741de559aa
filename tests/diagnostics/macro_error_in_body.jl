macro kib(x) { x / "1024" }
tracepoint:sched:sched_switch { @ = hist(kib(args.prev_pid)); }
