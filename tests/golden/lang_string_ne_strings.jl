tracepoint:sched:sched_switch /args.prev_comm != args.next_comm/ { @switches = count(); }
