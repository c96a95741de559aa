// strstr(): strcontains' search, with the offset of the match (shifts done) or -1 as its value.
tracepoint:sched:sched_switch { @[strstr(args.next_comm, "sh")] = count(); }
