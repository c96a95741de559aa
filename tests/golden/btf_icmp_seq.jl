// The icmp_seq of an echo request from the skb: IP header at head + network_header, ICMP header at
// head + transport_header; ntop() prints the address in user space, ntohs() is one byte-swap instruction.
rawtracepoint:netif_receive_skb {
  $skb = args.arg0;
  $ip = (struct iphdr *)($skb->head + $skb->network_header);
  $icmp = (struct icmphdr *)($skb->head + $skb->transport_header);
  if ($ip->protocol == 1 && $icmp->type == 8) {
    printf("%s seq %d\n", ntop($ip->saddr), ntohs($icmp->un.echo.sequence));
  }
}
