// bpftrace 0.27's array-style tuple access: `$t[1 + 1 - 2]` is `$t.0` (the index folded from constants), an element
// of an element `$t[1][0]` is `$t.1.0`: the same code as the `.N` forms.
tracepoint:irq:softirq_entry { $t = (args.vec, (cpu, 3)); @[$t[1][0]] = sum($t[1 + 1 - 2]); }
