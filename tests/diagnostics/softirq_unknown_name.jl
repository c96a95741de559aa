softirq("net_rxx") { @ = count(); }
