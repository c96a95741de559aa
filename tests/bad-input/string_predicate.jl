tracepoint:irq:softirq_entry /comm/ { @ = count(); }
