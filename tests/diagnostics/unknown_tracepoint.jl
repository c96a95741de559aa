tracepoint:irq:softirq_entri { @ = count(); }
