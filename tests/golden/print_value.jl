// print(v) of a value that is not a map: an event with the value, printed on a line of its own.
tracepoint:sched:sched_process_fork { print(args.child_pid); print(comm); print(5ms); }
