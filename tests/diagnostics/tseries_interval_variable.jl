tracepoint:raw_syscalls:sys_enter { $x = pid; @ = tseries(1, $x, 5); }
