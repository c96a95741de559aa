rawtracepoint:nonsense:sys_exit { printf("%d\n", gid); exit(); }
