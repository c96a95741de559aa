// One lookup: 1 when the entry exists, 0 when not; no read of the value.
tracepoint:sched:sched_process_exec { @start[pid] = nsecs; }
tracepoint:sched:sched_process_exit /has_key(@start, pid)/ { @[comm] = hist(nsecs - @start[pid]); delete(@start, pid); }
