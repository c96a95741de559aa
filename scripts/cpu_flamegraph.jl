// cpu_flamegraph.jl: what the CPUs run, as kernel stacks sampled 99 times a second (the perf top / flame graph step).
//
// Answers: "what is this CPU busy with?" In the IPVS incident, CPU 0's flame graph was dominated by
// run_timer_softirq -> estimation_timer. `--arg cpu=N` keeps one CPU's samples (perf top -C N).
// Read the text output bottom-up (the most frequent stacks come last), or write a flame graph:
//   jl --duration 10 -f folded --flamegraph cpu.svg scripts/cpu_flamegraph.jl > cpu.folded
// Frames are kernel only; samples taken in user mode show just the task name.
//
// Usage: jl --duration 10 [--arg cpu=0] scripts/cpu_flamegraph.jl   (cpu: -1, the default, samples all CPUs)

param $cpu = -1

profile:hz:99 /$cpu < 0 || cpu == $cpu/ { @[comm, kstack] = count(); }
