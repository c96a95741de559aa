// cgroup_path: the id alone in a register (bpf_get_current_cgroup_id); user space finds its paths when printing.
BEGIN { @[cgroup_path(cgroup)] = count(); printf("%s\n", cgroup_path(cgroup, "unified")); }
