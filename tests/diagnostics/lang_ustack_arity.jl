profile:hz:99 { @[ustack(bpftrace, 3, 1)] = count(); }
