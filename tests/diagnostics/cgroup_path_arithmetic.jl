BEGIN { @x = cgroup_path(cgroup) + 1; }
