tracepoint:irq:softirq_entry { @ = count(); @ = hist(args.vec); }
