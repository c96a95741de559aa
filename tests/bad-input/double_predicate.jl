tracepoint:irq:softirq_entry /1/ /2/ { @ = count(); }
