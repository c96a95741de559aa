tracepoint:raw_syscalls:sys_enter { @ = tseries(1, 1s, 5); @ = tseries(1, 100ms, 10, "max"); }
