tracepoint:syscalls:sys_enter_getpid { @ = curtask->comm[16]; }
