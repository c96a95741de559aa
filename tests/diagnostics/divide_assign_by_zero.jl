tracepoint:irq:softirq_entry { @x[cpu] = args.vec; @x[cpu] /= 0; }
