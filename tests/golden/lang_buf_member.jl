// buf() of a member that is bytes (an array, an embedded struct): one read at the member's offset.
rawtracepoint:netif_receive_skb { @[buf(args.arg0->sk->__sk_common.skc_v6_daddr)] = count(); }
