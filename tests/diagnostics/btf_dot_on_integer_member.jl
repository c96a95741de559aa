tracepoint:syscalls:sys_enter_getpid { @ = curtask->real_parent.pid.x; }
