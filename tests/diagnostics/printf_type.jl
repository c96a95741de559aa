tracepoint:irq:softirq_entry { printf("%s\n", args.vec); }
