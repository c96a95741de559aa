tracepoint:sched:sched_switch { @q = sum(args.prev_pid / -3); @r = sum(args.next_pid % args.prev_prio); }
