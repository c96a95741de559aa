profile:hz:99 { @[kstack(perf)] = count(); }
