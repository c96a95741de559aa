tracepoint:sched:sched_switch { @[*curtask] = count(); }
