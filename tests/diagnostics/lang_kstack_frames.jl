tracepoint:sched:sched_switch { @[kstack(500)] = count(); }
