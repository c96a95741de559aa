// pid namespace: 4:4026532200
// in a pid namespace, pid and tid count in it (bpf_get_ns_current_pid_tgid); pid(init) is the initial one
tracepoint:syscalls:sys_enter_getpid { @[pid, tid(curr_ns), pid(init)] = count(); }
