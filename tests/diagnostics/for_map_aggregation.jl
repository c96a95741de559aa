tracepoint:sched:sched_process_fork { @forks[comm] = count(); for ($kv : @forks) { print($kv.1); } }
