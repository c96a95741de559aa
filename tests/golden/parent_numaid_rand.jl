// pcomm reads curtask->real_parent->comm through BTF; numaid and rand are one helper call each.
tracepoint:sched:sched_process_exec { @execs[pcomm, numaid] = count(); @sample = rand; }
