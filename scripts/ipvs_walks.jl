// ipvs_walks.jl: each IPVS estimator walk, per network namespace, and what to do about long ones.
//
// Answers: "how long do the IPVS estimator walks take, in which namespace, and how often?" Every walk prints one
// line: the namespace whose estimators were walked (the host's, where kube-proxy keeps its services, is usually
// the long one; compare with `stat -L -c %i /proc/1/ns/net`), the CPU and how long it took.
// A walk visits one estimator per service and per real server, so its length grows with the rules
// (`ipvsadm -Ln | grep -c '^TCP\|^UDP'` counts the services): about 1 ms per 1 000 services on the incident's
// hardware. At the end @walk_by_netns is the duration histogram per namespace, and a reminder of the fix.
// Requires: the ip_vs module with BTF (/sys/kernel/btf/ip_vs). Works before 6.2 (the estimation_timer callback)
// and from 6.2 on (the estimator kthreads, through kprobes). Before 6.2, how late each walk started (the TIMER
// softirq's own delay) is `late` of timer("estimation_timer").
//
// Usage: jl --duration 20 scripts/ipvs_walks.jl

ipvs_est() {
  printf("IPVS estimator walk: netns %u, CPU %d, %d us\n", netns, cpu, dur / 1000);
  @walk_by_netns[netns] = hist(dur);
  @longest = max(dur);
}

END {
  printf("fix for long walks: sysctl -w net.ipv4.vs.run_estimation=0 (kernels with that sysctl): rates are then\n");
  printf("no longer estimated (ipvsadm -L --rate shows 0), and the walks return at once\n");
}
