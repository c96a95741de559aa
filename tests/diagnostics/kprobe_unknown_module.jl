// kprobe:MODULE:FUNCTION (bpftrace's module form) names a module: one not loaded is refused
kprobe:nonsense:vfs_read { exit(); }
