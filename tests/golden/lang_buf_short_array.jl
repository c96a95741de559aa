// buf() of a tracepoint array of 8 bytes or less (`__u8 saddr[4]`, an integer everywhere else): its 4 bytes,
// one 32-bit load from the record into the key.
tracepoint:sock:inet_sock_set_state { @[buf(args.saddr), args.saddr] = count(); }
