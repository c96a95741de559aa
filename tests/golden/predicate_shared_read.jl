// runqlat: the predicate's read of @q[args.next_pid] is reused by the block (one lookup, kept in a stack slot)
// until the delete; the second probe's store to @q ends the reuse before its second read.
tracepoint:sched:sched_wakeup { @q[args.pid] = nsecs; }
tracepoint:sched:sched_switch /@q[args.next_pid] != 0/ { @ = hist((nsecs - @q[args.next_pid]) / 1000); delete(@q[args.next_pid]); }
tracepoint:sched:sched_wakeup_new /@q[args.pid] == 0/ { @q[args.pid] = 1; @seen = @q[args.pid]; }
