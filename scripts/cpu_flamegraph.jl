// cpu_flamegraph.jl: what the CPUs run, as kernel stacks sampled 99 times a second (the perf top / flame graph step).
//
// Answers: "what is this CPU busy with?" In the IPVS incident, CPU 0's flame graph was dominated by
// run_timer_softirq -> estimation_timer. Keep only one CPU by adding `/cpu == 0/` after the probe.
// Read the text output bottom-up (the most frequent stacks come last), or write a flame graph:
//   jl scripts/cpu_flamegraph.jl --duration 10 -f folded --flamegraph cpu.svg > cpu.folded
// Frames are kernel only; samples taken in user mode show just the task name.
//
// Usage: jl scripts/cpu_flamegraph.jl --duration 10

profile:hz:99 { @[comm, kstack] = count(); }
