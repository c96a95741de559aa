tracepoint:syscalls:sys_enter_getpid { @ = curtask.pid; }
