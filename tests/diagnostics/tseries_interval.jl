tracepoint:raw_syscalls:sys_enter { @ = tseries(1, 0, 5); }
