tracepoint:irq:softirq_entry { $n = args.vec; @x = $n % 0; }
