// pingtrace.jl: each ping's time at each stage of this host's stack, by ICMP echo id and sequence, with CPU and namespace.
//
// Answers: "where on this host did this ping spend its time?" (PingTrace's per-node view, from the real echo
// packets rather than probe packets). Every hop of an ICMP echo request or reply prints one line: echo id and
// sequence, the two points, the time between them, the CPU and task that carried the packet on, its network
// namespace (compare with `stat -L -c %i /run/netns/NAME`) and device, and the addresses. A request and its
// reply share id and sequence, so one echo's lines read as its path through this host. Hops are each one
// packet's (skb() checks the packet's identity at every point). At the end @stage holds the latency histogram of
// each (previous point, point) of the echoes and @echo the total time each echo spent in the stages seen here.
//
// Usage: jl --duration 10 [--arg netns=INODE] scripts/pingtrace.jl   (netns: only hops in that namespace;
//        start ping afterwards; run with -v to see the points)

param $netns = 0

skb() /(icmp_id > 0 || icmp_seq > 0) && ($netns == 0 || netns == $netns)/ {
  printf("id %-5d seq %-5d %-22s -> %-22s %8d us cpu %d %-15s netns %u dev %-15s %s -> %s\n", icmp_id, icmp_seq,
         prev, hop, dur / 1000, cpu, comm, netns, dev, saddr, daddr);
  @stage[prev, hop] = hist(dur);
  @echo[icmp_id, icmp_seq] = sum(dur);
}
