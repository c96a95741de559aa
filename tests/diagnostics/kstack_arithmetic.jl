tracepoint:irq:softirq_entry { @x = kstack + 1; }
