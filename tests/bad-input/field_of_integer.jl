tracepoint:irq:softirq_entry { @ = pid.foo; }
