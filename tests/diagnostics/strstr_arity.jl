tracepoint:sched:sched_switch { @[strstr(args.next_comm)] = count(); }
