param $threshold = 10ms
param $threshold = 20ms
softirq() /dur > $threshold/ { @[name] = count(); }
