// len(@m): bpf_for_each_map_elem with a callback that only returns 0, whose count of visited elements is the
// length; the callback is linked after the program from the object's .text section (BTF function info).
tracepoint:sched:sched_process_fork { @children[args.child_pid] = 1; @n = len(@children); }
