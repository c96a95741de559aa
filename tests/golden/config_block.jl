// bpftrace's config block: max_map_keys sizes the keyed maps (as --map-keys); the code is the same.
config = { max_map_keys = 64; }
tracepoint:sched:sched_process_fork { @forks[pid] = count(); }
