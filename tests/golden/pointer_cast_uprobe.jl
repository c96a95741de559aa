// In a user-space probe the pointer is the process's: the read is bpf_probe_read_user.
uprobe:/proc/self/exe:main { @[*(int32 *)arg1] = count(); }
