tracepoint:syscalls:sys_enter_write { signal("SIGKILL"); }
