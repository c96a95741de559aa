tracepoint:sched:sched_process_fork { @kids[args.child_pid] = 1; for ($kv : @kids) { print(args.parent_pid); } }
