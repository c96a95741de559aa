tracepoint:irq:softirq_entry { @ = count(); @ += 1; }
