// ntop() of a 16-byte member is an IPv6 address: 16 bytes read straight into the map key.
rawtracepoint:netif_receive_skb { @[ntop(args.arg0->sk->__sk_common.skc_v6_daddr)] = count(); }
