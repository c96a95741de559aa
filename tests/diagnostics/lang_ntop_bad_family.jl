rawtracepoint:netif_receive_skb { @[ntop(7, args.arg0->sk->__sk_common.skc_daddr)] = count(); }
