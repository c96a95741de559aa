tracepoint:irq:softirq_entry { @h[args.vec] = hist(args.vec); delete(@h[1]); }
