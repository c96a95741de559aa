tracepoint:irq:softirq_entry /comm < "sshd"/ { @ = count(); }
