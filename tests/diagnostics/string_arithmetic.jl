tracepoint:irq:softirq_entry { @x = comm + 1; }
