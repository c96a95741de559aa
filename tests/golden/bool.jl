// Bools: a literal, a comparison and `!` as map keys and values (8 bytes holding 0 or 1), a `(bool)` cast as a
// comparison with 0, and a bool printed with printf's %s (user space prints `true`/`false`).
tracepoint:irq:softirq_entry { @big[args.vec > 3] = !(args.vec == 1); @on = true; printf("%s\n", (bool)args.vec); }
