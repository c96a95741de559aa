tracepoint:syscalls:sys_enter_write { printf("%s\n", buf(args.buf, 8)); }
