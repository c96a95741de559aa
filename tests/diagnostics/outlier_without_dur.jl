tracepoint:irq:softirq_entry { outlier(1ms); }
