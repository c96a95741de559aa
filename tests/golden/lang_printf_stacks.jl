// Stacks in printf: the ids go in the event, user space reads and prints the frames; kstack(5) has its own map.
tracepoint:syscalls:sys_enter_getpid { printf("%s%s\n", kstack(5), ustack); }
