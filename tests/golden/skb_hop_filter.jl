skb("netif_receive_skb", 50ms) { @[dev, netns, icmp_seq] = count(); }
