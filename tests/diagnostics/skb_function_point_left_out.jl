skb("icmp_rcv") { @[prev] = count(); }
