profile:hz:99 { @[kstack(200)] = count(); }
