// ntop(AF_INET6, addr): a constant family is checked against the address at compile time, and costs nothing.
rawtracepoint:netif_receive_skb { @[ntop(AF_INET6, args.arg0->sk->__sk_common.skc_v6_daddr)] = count(); }
