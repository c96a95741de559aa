tracepoint:sched:sched_switch { @last[args.next_pid] = nsecs; @prev = args.prev_comm; }
