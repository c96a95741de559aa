tracepoint:sched:sched_switch { @[kstack] = count(); @short[kstack(3)] = count(); }
