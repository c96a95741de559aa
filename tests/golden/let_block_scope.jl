// `let` variables live in their block: the second `$n` is a new slot of its own, read as a string.
tracepoint:sched:sched_process_fork { let $c = args.child_pid; if ($c > 1) { let $n = $c * 2; @a = $n; } if (1) { let $n = comm; @s[$n] = count(); } }
