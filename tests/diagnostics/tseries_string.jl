tracepoint:raw_syscalls:sys_enter { @ = tseries(comm, 1s, 5); }
