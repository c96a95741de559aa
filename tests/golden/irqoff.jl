irqoff(10ms) { @[kind] = max(dur); }
