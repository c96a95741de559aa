// A script's enum: its constants and a cast to it are plain integers in BPF; only their type (printed by name)
// differs.
enum Vec { HI = 0, TIMER = 1, NET_TX = 2, NET_RX = 3 };
tracepoint:irq:softirq_entry { @runs[(enum Vec)args.vec] = count(); @last = NET_RX; }
