// Bitfields: pkt_type (3 bits) and the iphdr nibbles ihl/version are shifted out of the bytes that hold them.
rawtracepoint:netif_receive_skb {
  $ip = (struct iphdr *)(args.arg0->head + args.arg0->network_header);
  @[args.arg0->pkt_type, $ip->version, $ip->ihl] = count();
}
