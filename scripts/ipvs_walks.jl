// ipvs_walks.jl: each IPVS estimator walk, per network namespace, and what to do about long ones.
//
// Answers: "how long do the IPVS estimator walks take, in which namespace, and how often?" Every walk prints one
// line: the namespace whose estimators were walked (the host's, where kube-proxy keeps its services, is usually
// the long one; compare with `stat -L -c %i /proc/1/ns/net`), the CPU, how long it took and how late it started.
// A walk visits one estimator per service and per real server, so its length grows with the rules
// (`ipvsadm -Ln | grep -c '^TCP\|^UDP'` counts the services): about 1 ms per 1 000 services on the incident's
// hardware. At the end @walk_by_netns is the duration histogram per namespace, and a reminder of the fix.
// Requires: the ip_vs module with BTF (/sys/kernel/btf/ip_vs) and a kernel < 6.2 (6.2+ estimates in kthreads).
//
// Usage: jl --duration 20 scripts/ipvs_walks.jl

ipvs_est() {
  printf("IPVS estimator walk: netns %u, CPU %d, %d us (started %d us late)\n", netns, cpu, dur / 1000, late / 1000);
  @walk_by_netns[netns] = hist(dur);
  @longest = max(dur);
}

END {
  printf("fix for long walks: sysctl -w net.ipv4.vs.run_estimation=0 (kernels with that sysctl): rates are then\n");
  printf("no longer estimated (ipvsadm -L --rate shows 0), and the walks return at once\n");
}
