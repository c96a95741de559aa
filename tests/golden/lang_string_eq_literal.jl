tracepoint:syscalls:sys_enter_openat /comm == "sshd"/ { @ = count(); }
