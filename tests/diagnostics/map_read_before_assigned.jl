tracepoint:irq:softirq_entry { @n = @n + 1; }
