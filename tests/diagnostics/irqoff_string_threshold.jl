irqoff("fast") { @[kind] = count(); }
