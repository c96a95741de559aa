// for ($i : a..b): $i set once, `$i < b` before each iteration, `$i++` after each one and after a `continue`.
tracepoint:sched:sched_process_fork { for ($i : 0..4) { if ($i == 1) { continue; } @c[$i] = count(); } }
