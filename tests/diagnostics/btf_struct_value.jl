rawtracepoint:netif_receive_skb { @ = args.arg0->dev->nd_net; }
