// tseries(v, interval, n, "sum") without keys: a per-CPU array of the 5 slots (no insert), the value added atomically.
tracepoint:irq:softirq_entry { @ = tseries(args.vec, 1s, 5, "sum"); }
