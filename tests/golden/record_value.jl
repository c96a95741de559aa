// A record is a tuple with names: `$r.b` reads the element's slot, a map value keeps the names for printing.
tracepoint:sched:sched_process_fork { $r = (a=pid, b=comm); @last[$r.a] = (n=cpu, who=$r.b); }
