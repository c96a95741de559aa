tracepoint:irq { @ = count(); }
