// ncpus is a constant of the compilation: the fixture's 2 possible CPUs.
tracepoint:sched:sched_process_exec { @share[cpu * 100 / ncpus] = count(); }
