// buf(ptr, len): len bytes at a user or kernel address, the padding to 8 bytes zeroed; printf prints them with %r.
tracepoint:syscalls:sys_enter_write { printf("%r\n", buf(args.buf, 12)); }
