// estimation_timer.jl: every IPVS estimator walk, its duration and CPU (the funcgraph `estimation_timer` step).
//
// Answers: "does IPVS's estimation_timer() run long enough to delay packets?" It runs every 2 s in TIMER softirq
// and walks every service and destination estimator; with tens of thousands of kube-proxy rules one walk takes
// tens of milliseconds (119 ms and 310 ms in the published incidents), during which NET_RX on that CPU waits.
// Each walk prints one line; at the end @walk is the duration histogram and @cpu how often each CPU ran it.
// Requires: the ip_vs module and a kernel < 6.2 (6.2+ estimates in kthreads: no estimation_timer at all).
// Fix: `sysctl net.ipv4.vs.run_estimation=0` (kernels with that sysctl) stops the walks.
//
// Usage: jl scripts/estimation_timer.jl --duration 20

timer("estimation_timer") {
  printf("estimation_timer walk on CPU %d took %d us\n", cpu, dur / 1000);
  @walk = hist(dur);
  @slowest = max(dur);
  @cpu[cpu] = count();
}
