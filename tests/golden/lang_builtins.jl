tracepoint:irq:softirq_entry { @[probe, cgroup] = count(); @task = curtask; }
