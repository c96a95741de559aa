tracepoint:irq:softirq_entry { @h = hist(args.vec); if (@h > 1) { exit(); } }
