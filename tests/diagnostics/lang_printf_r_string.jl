tracepoint:syscalls:sys_enter_write { printf("%r\n", comm); }
