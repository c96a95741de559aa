tracepoint:sched:sched_switch { @start[args.next_pid] = nsecs; delete(@start[args.prev_pid]); }
