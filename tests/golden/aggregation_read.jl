// Aggregations read in a probe, as bpftrace 0.27 reads them: each value is the key's per-CPU values fetched CPU
// by CPU with bpf_map_lookup_percpu_elem (a loop over the fixture's 2 possible CPUs) and merged as user space
// merges them: a count added, a signed min compared signed, an avg's totals divided toward zero.
tracepoint:irq:softirq_entry { @n[args.vec] = count(); @lo = min((int64)args.vec - 5); @mean = avg(args.vec); }
tracepoint:irq:softirq_exit /@n[args.vec] > 10/ { printf("%d %d\n", @lo, @mean); }
