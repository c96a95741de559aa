// `.` through embedded structs adds to the offset of the same read: nd_net.net and ns.inum cost no extra read.
rawtracepoint:netif_receive_skb { @[args.arg0->dev->nd_net.net->ns.inum, args.arg0->dev->name] = count(); }
