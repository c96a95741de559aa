// The assignment fails once; the uses of $skb after it are not reported again.
rawtracepoint:netif_receive_skb {
  $skb = args.skb;
  @[$skb->len] = count();
}
