softirq_delay() /dur > 1ms/ { printf("%s waited %d us on CPU %d\n", name, dur / 1000, cpu); }
