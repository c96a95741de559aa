// softirq_durations.jl: how long each softirq type runs, as duration histograms (the BCC `softirqs -d` step).
//
// Answers: "does one softirq type run for milliseconds?" In the IPVS incident TIMER softirq had runs of
// 65-130 ms while NET_RX waited behind it on the same CPU. Read one histogram per type (net_rx, timer, rcu,
// sched, ...): a bucket far to the right of the others is the stall. @longest gives the single longest run per
// type and CPU.
//
// Usage: jl --duration 30 [--arg cpu=0] scripts/softirq_durations.jl   (cpu: one CPU only, like softirqs -C; -1: all)

param $cpu = -1

softirq() /$cpu < 0 || cpu == $cpu/ {
  @[name] = hist(dur);
  @longest[name, cpu] = max(dur);
}
