// `*p` reads what a typed pointer points to (4 bytes through `int32 *`), `p[i]` is `*(p + i)`, and `**q` reads an
// address, then the byte it points to.
tracepoint:sched:sched_switch { $p = (int32 *)curtask; @a = *$p + $p[args.prev_pid]; $q = (uint8 **)curtask; @b = **($q + 1); }
