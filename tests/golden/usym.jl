// usym: the address then the process (the tgid, the high half of bpf_get_current_pid_tgid) in 16 bytes, as a
// map key and in printf; user space names the function.
uprobe:/proc/self/exe:main { @[usym(reg("ip"))] = count(); printf("%s\n", usym(reg("ip") + 1)); }
