// skb_hops.jl: where packets wait on their way through the stack, hop by hop, with the namespace and device.
//
// Answers: "which hop of the path is slow, in which network namespace, on which CPU?" (the per-packet hop
// tracing step: one site found 201 ms between a container's veth and the host side, in softirq on CPU 32).
// Every packet is timestamped at each point it crosses (net_dev_queue, net_dev_start_xmit, netif_rx,
// napi_gro_receive_entry, netif_receive_skb, skb_copy_datagram_iovec, and where it is freed: kfree_skb,
// consume_skb; where the kernel allows fentry or kprobes also ip_output, br_forward, veth_xmit,
// br_handle_frame_finish, ip_rcv, ip_forward, ip_local_deliver, icmp_rcv, tcp_v4_rcv, udp_rcv: `jl -v` says). A hop slower than the threshold prints one line: the two points, the time between them,
// the namespace inode (compare with `stat -L -c %i /run/netns/NAME` or /proc/PID/ns/net), the device, the CPU
// and task that carried it on, and for pings the addresses and icmp_seq. At the end @hops holds the latency
// histogram of each (previous point, point) pair: a bucket far right on netif_rx -> netif_receive_skb means
// packets waited in the backlog for NET_RX softirq; pair it with softirq_delay.jl on the CPU printed.
//
// Usage: jl --duration 30 [--arg threshold=20ms] scripts/skb_hops.jl      (threshold: 50ms by default)

param $threshold = 50ms

skb() {
  @hops[prev, hop] = hist(dur);
  if (dur >= $threshold) {
    printf("%-22s -> %-22s %8d us netns %u dev %-15s cpu %d %-15s %s -> %s seq %d\n", prev, hop, dur / 1000,
           netns, dev, cpu, comm, saddr, daddr, icmp_seq);
  }
}
