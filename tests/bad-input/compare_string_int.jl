tracepoint:irq:softirq_entry /comm == 1/ { @ = count(); }
