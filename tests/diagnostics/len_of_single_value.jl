tracepoint:sched:sched_process_fork { @total = count(); @x = len(@total); }
