profile:hz:99 { @[comm, kstack] = count(); }
