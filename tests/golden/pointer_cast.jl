// `(int8 *)` types an address and `*(uint16 *)p` reads 2 bytes at one; in a tracepoint through
// bpf_probe_read_kernel. `(uint16)` keeps the low bits.
tracepoint:sched:sched_switch { $p = (int8 *)curtask; @[*(uint16 *)($p + 8), (uint16)args.next_pid] = count(); }
