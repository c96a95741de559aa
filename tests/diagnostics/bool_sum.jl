tracepoint:irq:softirq_entry { @s = sum(args.vec > 3); }
