tracepoint:sched:sched_switch { print(signal_name(args.prev_state)); }
