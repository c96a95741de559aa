tracepoint:irq:softirq_entry { @[args.nosuch] = count(); }
