rawtracepoint:netif_receive_skb { @[ntop(AF_INET, args.arg0->sk->__sk_common.skc_v6_daddr)] = count(); }
