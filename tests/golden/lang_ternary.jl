tracepoint:irq:softirq_entry { @[args.vec == 3 ? 1 : 0] = count(); }
