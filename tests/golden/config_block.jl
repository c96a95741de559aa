// bpftrace's config block: max_map_keys sizes the keyed maps (as --map-keys), on_stack_limit changes nothing;
// the code is the same.
config = { max_map_keys = 64; on_stack_limit = 0 }
tracepoint:sched:sched_process_fork { @forks[pid] = count(); }
