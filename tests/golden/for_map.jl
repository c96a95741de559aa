// for ($kv : @m): the body is a bpf_for_each_map_elem callback that copies the probe's variables in, sets $kv
// from the entry's key and value, runs, and copies the variables back; `break` returns 1, the end 0.
tracepoint:sched:sched_process_fork { @kids[args.child_pid] = args.parent_pid; $sum = 0; for ($kv : @kids) { if ($kv.1 == 1) { continue; } $sum += $kv.1; if ($kv.0 > 100000) { break; } } @sum = $sum; }
