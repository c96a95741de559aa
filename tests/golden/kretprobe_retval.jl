// kretprobe: the return value register (pt_regs ax).
kretprobe:icmp_rcv { @[retval] = count(); }
