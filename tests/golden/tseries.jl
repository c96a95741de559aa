// tseries(): the ring slot from CLOCK_TAI (the fixture kernel is 6.18), a new interval resets the slot, then the
// last value written and its time; keyed by cpu, so a hash map with an insert path.
tracepoint:irq:softirq_entry { @[cpu] = tseries(args.vec, 100ms, 10); }
