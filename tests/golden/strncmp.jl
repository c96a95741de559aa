// Both strings into buffers, then 12 bytes compared: one whole word and the 4 low bytes of the next.
tracepoint:syscalls:sys_enter_openat /strncmp(comm, "systemd-jour", 12) == 0/ { @[comm] = count(); }
