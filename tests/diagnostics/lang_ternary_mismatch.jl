tracepoint:irq:softirq_entry { @[args.vec > 3 ? comm : 1] = count(); }
