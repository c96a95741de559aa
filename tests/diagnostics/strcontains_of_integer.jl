tracepoint:sched:sched_switch { @[strcontains(args.next_comm, args.next_pid)] = count(); }
