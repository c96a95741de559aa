tracepoint:irq:softirq_exit / args.vec > 2 / < @[cpu] = count(); >
