tracepoint:irq:softirq_entry /args.vec == 1 || args.vec == 3 && cpu == 0/ { @ = count(); }
