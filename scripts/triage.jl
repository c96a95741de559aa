// triage.jl: the all-in-one first look at a node with latency spikes: names the CPU, the wait and its cause.
//
// Answers: "is something stalling packets here, and what?" Each wait of the NET_RX softirq (raise to start) of
// at least the threshold is linked to what ran on that CPU meanwhile (stall(): timer and hrtimer callbacks,
// other softirqs, hardirq handlers, the task that held the CPU), and the run ends with a VERDICT line: the CPU,
// the worst wait, when it happened, the culprit that took most of it and its share. Then @blame ranks the
// culprits by the time they took across all stalls (largest last), and @stalls has the waits per culprit.
// Context from the same run: @net_rx_wait (every NET_RX wait, also the short ones: p99 and max are what a ping
// sees), @softirq (run time per softirq type) and @timer_total (which timer callbacks take the time).
// A culprit timer:estimation_timer is the IPVS incident: run estimation_timer.jl (walk per namespace) and set
// `sysctl net.ipv4.vs.run_estimation=0` where the kernel has it. A task culprit held the CPU with bottom halves
// or interrupts off (irqoff.jl names where), or ran while ksoftirqd waited for the CPU; profile that CPU with
// cpu_flamegraph.jl. Follow slow packets hop by hop with skb_hops.jl.
// The @worst_* maps are the record behind the verdict: plain map writes from all CPUs, so when two CPUs beat it
// at the same instant the printed fields may mix both stalls; every stall's own fields are exact.
//
// Usage: jl --duration 60 [--arg threshold=5ms] scripts/triage.jl   (threshold: what counts as a stall, 10ms)

param $threshold = 10ms

BEGIN {
  @worst_stall = 0ns;
  @worst_wait = 0ns;
}

// Only waits of the threshold or more reach the block: shorter ones never leave the kernel.
stall("net_rx", $threshold) {
  @stalls[culprit] = hist(dur);
  @blame[culprit] = sum(culprit_time);
  if (culprit2_time > 0) {
    @blame[culprit2] = sum(culprit2_time);
  }
  if (culprit3_time > 0) {
    @blame[culprit3] = sum(culprit3_time);
  }
  if (dur > @worst_stall) {
    @worst_stall = dur;
    @worst_cpu = cpu;
    @worst_at = nsecs;
    @worst_culprit = culprit;
    @worst_culprit_time = culprit_time;
    @worst_share = share;
  }
}

softirq_delay("net_rx") {
  @net_rx_wait = quantiles(dur);
  if (dur > @worst_wait) {
    @worst_wait = dur;
    @worst_wait_cpu = cpu;
  }
}

softirq() {
  @softirq[name] = hist(dur);
}

timer() {
  @timer_total[func] = sum(dur);
}

END {
  if (@worst_stall > 0) {
    printf("VERDICT: CPU %d: NET_RX waited %d us at %s; %s ran %d us of that wait (%d%%)\n",
           @worst_cpu, @worst_stall / 1000, strftime("%H:%M:%S", @worst_at), @worst_culprit,
           @worst_culprit_time / 1000, @worst_share);
  } else {
    printf("VERDICT: no NET_RX wait of %d us or more (longest wait: %d us, on CPU %d)\n",
           $threshold / 1000, @worst_wait / 1000, @worst_wait_cpu);
  }
}
