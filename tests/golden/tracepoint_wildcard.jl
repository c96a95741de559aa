// A wildcard path: one program per matching tracepoint, each running the block; `probe` names the match.
tracepoint:irq:softirq_* { @[probe] = count(); }
