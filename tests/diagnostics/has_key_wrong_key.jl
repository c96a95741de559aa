tracepoint:sched:sched_process_exit { @seen[pid] = 1; if (has_key(@seen, comm)) { exit(); } }
