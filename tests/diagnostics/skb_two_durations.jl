skb(1ms, 2ms) { @ = count(); }
