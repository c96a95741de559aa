// bpftrace's other.exit with unreachable code: the second `@++` never runs (one warning per block).
interval:ms:100 { @++; exit(); @++; @x = 1; }
tracepoint:syscalls:sys_enter_openat { while (1) { if (@n > 3) { break; @n = 0; } @n++; } }
