param $cpu = 0
softirq() { $cpu = 1; @[name] = count(); }
