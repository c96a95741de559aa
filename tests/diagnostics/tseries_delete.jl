tracepoint:raw_syscalls:sys_enter { @t[cpu] = tseries(1, 1s, 5); delete(@t[cpu]); }
