softirq("net_rx") { @[name, cpu] = hist(dur); }
