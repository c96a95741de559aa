tracepoint:irq:softirq_entry { $x = count() + 1; }
