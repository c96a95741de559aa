tracepoint:irq:softirq_entry { @ = args.; }
