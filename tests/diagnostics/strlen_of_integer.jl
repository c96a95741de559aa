tracepoint:sched:sched_switch { @[strlen(args.next_pid)] = count(); }
