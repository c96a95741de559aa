tracepoint:syscalls:sys_enter_getpid { @ = pid->tgid; }
