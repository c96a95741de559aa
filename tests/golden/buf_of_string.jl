// buf() of a string: a literal keeps its first bytes (zero padding), comm all of its 16 bytes.
tracepoint:sched:sched_process_fork { @[buf("ok_key", 7), buf(comm)] = count(); }
