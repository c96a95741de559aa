tracepoint:sched:sched_process_exit { @h[comm] = hist(pid); if (has_key(@h, comm)) { exit(); } }
