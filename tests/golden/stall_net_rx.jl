// stall(): NET_RX waits of 5 ms or more, by the culprit that took most of each. Pinned: the main program on
// softirq_entry (charge the innermost context, end the wait, rank the slots, push the softirq).
// show: raw_tracepoint/softirq_entry
stall("net_rx", 5ms) { @[culprit] = hist(dur); }
