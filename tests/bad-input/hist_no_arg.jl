tracepoint:irq:softirq_entry { @ = hist(); }
