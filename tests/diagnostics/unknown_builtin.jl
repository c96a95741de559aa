tracepoint:irq:softirq_entry { @x = pdi; }
