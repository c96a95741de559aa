tracepoint:irq:softirq_entry { @x = 99999999999999999999; }
