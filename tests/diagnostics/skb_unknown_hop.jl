skb("netif_recieve_skb") { @ = count(); }
