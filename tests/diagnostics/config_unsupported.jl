config = { BPFTRACE_STACK_MODE = perf; max_map_keys = 0; frob = 1 }
BEGIN { exit(); }
