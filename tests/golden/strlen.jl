// strlen(): the mask of each word's bytes before the NUL (as strcontains' needle), their 0x01 bytes summed by
// one multiply per word; no loop.
tracepoint:sched:sched_switch { @[strlen(args.next_comm)] = count(); }
