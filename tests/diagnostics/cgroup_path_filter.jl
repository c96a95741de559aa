BEGIN { print(cgroup_path(cgroup, comm)); }
