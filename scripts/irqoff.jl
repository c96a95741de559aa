// irqoff.jl: which CPUs had interrupts off, or let TIMER/NET_RX softirqs wait, longer than a threshold (trace-irqoff).
//
// Answers: "what held this CPU so that timers and packets waited?" Each stall over the threshold prints one line:
// the CPU, the kind (`hardirq`: the CPU could not take interrupts for DUR; `softirq`: a raised TIMER or NET_RX
// softirq had waited DUR without starting), how long, and the task that was running there. At the end, @stacks
// holds the kernel stack of each kind of stall: for `hardirq` the code that just re-enabled interrupts, for
// `softirq` what held the CPU (in the IPVS incident: run_timer_softirq -> estimation_timer); read the most
// frequent (last) ones first. @dur is the per-CPU histogram of stall lengths: one CPU far to the right is the
// one to look at with cpu_flamegraph.jl and softirq_durations.jl. Each stack starts with the timer interrupt that
// noticed the stall (our program, __hrtimer_run_queues, hrtimer_interrupt, ... asm_sysvec_apic_timer_interrupt):
// read the frames below it (none when the CPU was in user space).
// In a virtual machine, time the host did not run the vCPU also shows as `hardirq` (see `steal` in /proc/stat).
//
// Usage: jl --duration 60 [--arg threshold=5ms] scripts/irqoff.jl   (threshold: 1ms to 10s, default 10ms)

param $threshold = 10ms

irqoff($threshold) {
  printf("CPU %-3d %-7s %8d us  %s (pid %d)\n", cpu, kind, dur / 1000, comm, pid);
  @stacks[kind, kstack] = count();
  @dur[cpu] = hist(dur);
}
