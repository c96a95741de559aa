tracepoint:sched:sched_process_fork { $t = (args.child_pid, comm); print($t.pid); }
