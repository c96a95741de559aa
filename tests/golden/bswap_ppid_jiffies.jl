// bswap swaps as many bytes as its operand has: the field's 4 and 2, a cast's width, 8 otherwise.
tracepoint:sock:inet_sock_set_state { @ports[bswap(args.sport), bswap((uint32)args.dport), bswap(pid)] = count(); }
tracepoint:sched:sched_process_fork { @forks[ppid] = count(); @last = jiffies; }
