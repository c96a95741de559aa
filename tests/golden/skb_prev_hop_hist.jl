// show: raw_tracepoint/netif_receive_skb
// skb()'s per-hop histogram, as bench/ measures it: keyed by two names (the previous point and the hop) it is a
// per-CPU array of points x points x buckets, the slot ((prev * points) + hop) * buckets + bucket, updated by an
// inlined lookup with no insert (never full).
skb() { @[prev, hop] = hist(dur); }
