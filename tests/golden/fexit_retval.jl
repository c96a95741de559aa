// fexit: arguments as on entry, and the return value right after them (slot 4 of ip_rcv's context).
fexit:ip_rcv { @[args.skb != 0, retval] = count(); }
