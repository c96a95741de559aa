tracepoint:syscalls:sys_enter_getpid { @ = (struct task_struct)curtask; }
