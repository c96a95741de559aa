tracepoint:sched:sched_process_fork { @forks[comm] = hist(args.child_pid); for ($kv : @forks) { print($kv.1); } }
