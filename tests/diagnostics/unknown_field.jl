tracepoint:irq:softirq_entry { @[args.vex] = count(); }
