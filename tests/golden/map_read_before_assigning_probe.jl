tracepoint:irq:softirq_exit { @d = hist(nsecs - @start[cpu]); } tracepoint:irq:softirq_entry { @start[cpu] = nsecs; }
