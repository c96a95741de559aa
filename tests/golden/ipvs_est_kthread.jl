// kernel: ipvs-kthreads
// ipvs_est() on Linux >= 6.2 (Debian 13's 6.12): kprobe + kretprobe on the estimator kthreads' chain walk, paired
// per thread; netns from the kthread's data (kd->ipvs->net->ns.inum)
ipvs_est() { @[netns] = count(); }
