tracepoint:irq:softirq_entry { @x = $y + 1; }
