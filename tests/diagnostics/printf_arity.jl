tracepoint:irq:softirq_entry { printf("%d %d\n", args.vec); }
