tracepoint:sched:sched_process_exit { @[bswap(comm)] = count(); }
