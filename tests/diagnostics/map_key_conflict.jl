tracepoint:irq:softirq_entry { @[pid] = count(); @[comm] = count(); }
