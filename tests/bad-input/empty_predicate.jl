tracepoint:irq:softirq_entry // { @ = count(); }
