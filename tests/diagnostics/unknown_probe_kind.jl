tracepont:irq:softirq_entry { @ = count(); }
