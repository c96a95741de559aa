tracepoint:sched:sched_process_fork { $n = args.child_pid; print($n.0); }
