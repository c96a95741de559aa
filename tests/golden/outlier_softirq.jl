softirq("net_rx") { outlier(5ms); }
