// Soak load: the probes an on-call engineer leaves running during a packet flood.
// @rx counts packets per receiving device; tests/soak/run compares it with the kernel's rx_packets.
tracepoint:net:netif_receive_skb { @rx[args.name] = count(); }
softirq() { @softirq[name] = hist(dur); @longest[name, cpu] = max(dur); }
softirq_delay() { @delay[name] = quantiles(dur); }
skb() { @hop_latency[prev, hop] = hist(dur); }
