// kprobe:vmlinux:FUNCTION is the kernel's own function, as bpftrace writes it: a missing one points at its name
kprobe:vmlinux:nonsense { exit(); }
