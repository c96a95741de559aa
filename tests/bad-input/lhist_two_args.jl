tracepoint:irq:softirq_entry { @ = lhist(args.vec, 0); }
