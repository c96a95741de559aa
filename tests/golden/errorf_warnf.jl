// errorf()/warnf(): printf events whose text user space prints on stderr after where they were called.
tracepoint:sched:sched_switch { errorf("pid %d", pid); warnf("cpu %d", cpu); }
