tracepoint:irq:softirq_entry { @ = reg("ip"); }
