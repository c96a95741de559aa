// bpftrace 0.27's delete(@m, k): the same program as delete(@m[k]).
tracepoint:sched:sched_switch { @start[args.next_pid] = nsecs; delete(@start, args.prev_pid); }
