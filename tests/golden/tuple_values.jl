// Tuples as values: built element by element in a variable's slot, an element read from that slot, a tuple
// stored as a map value, a tuple key spread into its elements, and print() of a tuple as one event.
tracepoint:sched:sched_process_fork { $t = (args.child_pid, comm); @last[$t.0] = ($t.1, cpu); @n[(pid, 1)] = count(); print($t); }
