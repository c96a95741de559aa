tracepoint:sched:sched_switch { @[*(struct task_struct *)curtask] = count(); }
