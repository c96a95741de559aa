// kprobe: arguments typed from the BTF prototype of ip_rcv, read from pt_regs (di, si).
kprobe:ip_rcv /args.dev != 0/ { @[args.skb] = count(); @raw = sum(arg1); }
