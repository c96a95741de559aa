// softirq_delay.jl: how long raised softirqs wait before they run, and every wait over 1 ms (the trace-irqoff step).
//
// Answers: "did NET_RX wait behind something on this CPU?" A raised softirq runs when the CPU gets to it; a long
// wait means something held the CPU: a long softirq of another type (TIMER running estimation_timer in the IPVS
// incident), interrupts disabled, or a busy ksoftirqd. Each wait over 1 ms prints one line with the CPU and the
// task that was running when the softirq finally started; the histograms show the wait distribution per type.
// Pair it with softirq_durations.jl: a TIMER run as long as the NET_RX wait on the same CPU names the culprit.
//
// Usage: jl scripts/softirq_delay.jl --duration 30

softirq_delay() /dur > 1ms/ {
  printf("%-8s waited %6d us on CPU %d (running: %s, pid %d)\n", name, dur / 1000, cpu, comm, pid);
}

softirq_delay() {
  @[name] = hist(dur);
  @longest[name, cpu] = max(dur);
}
