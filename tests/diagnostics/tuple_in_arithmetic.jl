tracepoint:sched:sched_process_fork { $t = (args.child_pid, comm); @x = $t * 2; }
