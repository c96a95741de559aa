tracepoint:irq:softirq_entry { @[args.vec] = count(); } interval:s:1 { clear(@[1]); }
