tracepoint:irq:softirq_entry /args.vec == 1 { @ = count(); }
