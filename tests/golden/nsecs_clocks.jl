// nsecs(mode): one helper call per clock (bpf_ktime_get_ns, _boot_ns, _tai_ns).
tracepoint:sched:sched_switch { @a = max(nsecs(monotonic)); @b = max(nsecs(boot)); @c = max(nsecs(tai)); }
