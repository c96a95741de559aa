tracepoint:syscalls:sys_enter_openat /strncmp(comm, pid, 4) == 0/ { @[comm] = count(); }
