profile:hz:99 { @a[kstack(3)] = count(); @a[kstack] = count(); }
