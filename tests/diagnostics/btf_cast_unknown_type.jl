tracepoint:syscalls:sys_enter_getpid { @ = (uint128)pid; }
