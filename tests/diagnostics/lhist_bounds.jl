tracepoint:irq:softirq_entry { @ = lhist(args.vec, 10, 0, 1); }
