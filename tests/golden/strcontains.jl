// strcontains(): the needle's masks, then at most one shift of the haystack per byte (a bounded loop with
// constant stack offsets only).
tracepoint:sched:sched_switch /strcontains(args.next_comm, "sh")/ { @ = count(); }
