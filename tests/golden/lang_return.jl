tracepoint:irq:softirq_entry { if (args.vec != 3) { return; } @net = count(); }
