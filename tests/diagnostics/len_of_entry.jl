tracepoint:sched:sched_process_fork { @m[pid] = 1; @x = len(@m[pid]); }
