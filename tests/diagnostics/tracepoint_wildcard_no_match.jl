tracepoint:irq:softirq_nope* { @[probe] = count(); }
