// softirq_durations.jl: how long each softirq type runs, as duration histograms (the BCC `softirqs -d` step).
//
// Answers: "does one softirq type run for milliseconds?" In the IPVS incident TIMER (vector 1) had runs of
// 65-130 ms while NET_RX (vector 3) waited behind it on the same CPU. Read one histogram per vector
// (0 HI, 1 TIMER, 2 NET_TX, 3 NET_RX, 4 BLOCK, 5 IRQ_POLL, 6 TASKLET, 7 SCHED, 8 HRTIMER, 9 RCU): a bucket far to
// the right of the others is the stall. @longest gives the single longest run per vector and CPU.
//
// Usage: jl scripts/softirq_durations.jl --duration 30
//        jl -e "$(cat scripts/softirq_durations.jl)" ... or filter one CPU by adding `/cpu == 0/` to both probes.

tracepoint:irq:softirq_entry { @start[cpu] = nsecs; }

tracepoint:irq:softirq_exit /@start[cpu] != 0/ {
  @[args.vec] = hist(nsecs - @start[cpu]);
  @longest[args.vec, cpu] = max(nsecs - @start[cpu]);
  @start[cpu] = 0;
}
