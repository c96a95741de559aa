irqoff(10) { @[kind] = count(); }
