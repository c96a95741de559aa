tracepoint:irq:softirq_entry { @v = lhist(args.vec, 0, 10, 1); }
