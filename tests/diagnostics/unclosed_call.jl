tracepoint:irq:softirq_entry { @[args.vec] = count( }
