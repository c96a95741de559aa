tracepoint:irq:softirq_entry { @[args.vec] = count(); @[args.vec, 1] = count(); }
