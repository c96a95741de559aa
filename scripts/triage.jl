// triage.jl: the all-in-one first look at a node with latency spikes: names the CPU and the culprit callback.
//
// Answers: "is something in softirq context stalling packets here, and what?" It runs the softirq duration,
// NET_RX wait, timer-callback and packet-hop steps at once (softirq_durations.jl, softirq_delay.jl,
// timer_callbacks.jl, skb_hops.jl; the IPVS estimator walk is the timer callback estimation_timer) and ends with
// a VERDICT line naming the worst CPU and what ran there, and a line naming the slowest packet hop. Read the VERDICT first; then @softirq
// (one duration histogram per softirq type), @net_rx_wait (how long raised NET_RX softirqs waited to start:
// p99 and max are what a ping sees), and @timer_total (which timer callbacks take the time, largest last).
// A callback `estimation_timer` over a few ms is the IPVS incident: run estimation_timer.jl (walk per
// namespace) and set `sysctl net.ipv4.vs.run_estimation=0` where the kernel has it. Otherwise profile the CPU
// the verdict names with cpu_flamegraph.jl and follow slow packets with skb_hops.jl.
// The @worst_* maps printed at the end are the raw records behind the verdict. They are kept with plain map
// writes from all CPUs: when two CPUs beat the record at the same instant the printed CPU and callback may come
// from either one; the histograms are exact.
//
// Usage: jl --duration 60 [--arg threshold=5ms] scripts/triage.jl   (threshold: what counts as a stall, 10ms)

param $threshold = 10ms

BEGIN {
  @worst_softirq = 0ns;
  @worst_wait = 0ns;
  @worst_timer = 0ns;
  @worst_hop = 0ns;
}

softirq() {
  @softirq[name] = hist(dur);
  if (dur > @worst_softirq) {
    @worst_softirq = dur;
    @worst_softirq_cpu = cpu;
    @worst_softirq_name = name;
  }
}

softirq_delay("net_rx") {
  @net_rx_wait = quantiles(dur);
  if (dur > @worst_wait) {
    @worst_wait = dur;
    @worst_wait_cpu = cpu;
  }
}

timer() {
  @timer_total[func] = sum(dur);
  if (dur > @worst_timer) {
    @worst_timer = dur;
    @worst_timer_cpu = cpu;
    @worst_timer_func = func;
  }
}

// Only hops slower than the threshold reach the block: faster ones are dropped in BPF.
skb($threshold) {
  @slow_hops[prev, hop] = count();
  if (dur > @worst_hop) {
    @worst_hop = dur;
    @worst_hop_cpu = cpu;
    @worst_hop_from = prev;
    @worst_hop_to = hop;
    @worst_hop_netns = netns;
  }
}

END {
  if (@worst_timer > $threshold) {
    printf("VERDICT: CPU %d: timer callback %s ran %d us in TIMER softirq (threshold %d us); NET_RX waited up to %d us (worst on CPU %d)\n",
           @worst_timer_cpu, @worst_timer_func, @worst_timer / 1000, $threshold / 1000, @worst_wait / 1000,
           @worst_wait_cpu);
  } else if (@worst_softirq > $threshold) {
    printf("VERDICT: CPU %d: a %s softirq ran %d us (threshold %d us), no single timer callback did; NET_RX waited up to %d us (worst on CPU %d)\n",
           @worst_softirq_cpu, @worst_softirq_name, @worst_softirq / 1000, $threshold / 1000, @worst_wait / 1000,
           @worst_wait_cpu);
  } else {
    printf("VERDICT: no softirq or timer callback ran longer than %d us (longest: %s softirq, %d us on CPU %d; NET_RX waited up to %d us)\n",
           $threshold / 1000, @worst_softirq_name, @worst_softirq / 1000, @worst_softirq_cpu, @worst_wait / 1000);
  }
  if (@worst_hop > 0) {
    printf("SLOWEST HOP: %s -> %s took %d us on CPU %d (netns %u)\n", @worst_hop_from, @worst_hop_to,
           @worst_hop / 1000, @worst_hop_cpu, @worst_hop_netns);
  } else {
    printf("SLOWEST HOP: no packet hop took longer than %d us\n", $threshold / 1000);
  }
}
