tracepoint:skb:kfree_skb { @ = ((struct sk_buf *)args.skbaddr)->len; }
