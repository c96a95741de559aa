tracepoint:irq:softirq_entry { @ = lhist(args.vec, 0, 1000000000, 1); }
