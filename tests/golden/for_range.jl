// for ($i : a..b): a hidden counter and end set once, `counter < end` before each iteration, $i set from the
// counter at its start, the counter stepped after each iteration and after a `continue`.
tracepoint:sched:sched_process_fork { for ($i : 0..4) { if ($i == 1) { continue; } @c[$i] = count(); } }
