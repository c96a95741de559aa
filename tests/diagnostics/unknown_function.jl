tracepoint:irq:softirq_entry { @ = cuont(); }
