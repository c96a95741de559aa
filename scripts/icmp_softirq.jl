// icmp_softirq.jl: which CPU, task and network namespace handle each ICMP echo in softirq (traceicmpsoftirq).
//
// Answers: "when a ping to this pod is slow, which CPU received it, and what was running there?" Each ICMP echo
// request (type 8) and reply (type 0) that reaches netif_receive_skb prints one line: the time, the CPU, the
// task the softirq interrupted or ran in (`ksoftirqd/N` when softirqs were deferred to the thread, else the
// task that happened to be on that CPU), the device, the network namespace inode (compare with
// `ls -Li /proc/PID/ns/net` of a pod's process, or `ip netns list` + `stat -L -c %i /run/netns/NAME`), the
// addresses and the echo sequence number. In the IPVS incident every slow ping landed on the same CPU: the one
// that also ran the long TIMER softirq (see softirq_durations.jl). At the end @cpu counts echoes per CPU and
// device.
//
// Usage: jl scripts/icmp_softirq.jl [--arg type=8]   (type: 8 requests only, 0 replies only, -1 both: default)
// Needs: raw tracepoints with BTF (Linux >= 5.5).

param $type = -1

rawtracepoint:netif_receive_skb {
  $skb = args.arg0;
  $ip = (struct iphdr *)($skb->head + $skb->network_header);
  if ($ip->protocol == 1) {
    $icmp = (struct icmphdr *)($skb->head + $skb->transport_header);
    if (($icmp->type == 8 || $icmp->type == 0) && ($type < 0 || $icmp->type == $type)) {
      printf("%s cpu=%d comm=%s pid=%d dev=%s netns=%u %s -> %s %s seq=%d\n",
             strftime("%H:%M:%S", nsecs), cpu, comm, pid, $skb->dev->name, $skb->dev->nd_net.net->ns.inum,
             ntop($ip->saddr), ntop($ip->daddr), $icmp->type == 8 ? "request" : "reply",
             ntohs($icmp->un.echo.sequence));
      @cpu[cpu, $skb->dev->name] = count();
    }
  }
}
