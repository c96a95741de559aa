// A char array member is a string: curtask->comm is read straight into the map key (16 bytes).
tracepoint:syscalls:sys_enter_getpid { @[curtask->comm] = count(); }
