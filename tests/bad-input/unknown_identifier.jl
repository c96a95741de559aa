tracepoint:irq:softirq_entry { @ = nosuch; }
