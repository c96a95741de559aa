tracepoint:irq:softirq_entry { @[args.vec] = count(); }
interval:s:1 { print(@, 3); clear(@); }
