// A cast types a plain address: the tracepoint's `void *skbaddr` becomes a struct sk_buff *.
tracepoint:skb:kfree_skb { @len = sum(((struct sk_buff *)args.skbaddr)->len); }
