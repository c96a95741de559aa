// Fixed arrays: a constant index folds into the offset; a computed one moves the pointer.
rawtracepoint:netif_receive_skb {
  $sk = args.arg0->sk;
  @last = sum($sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[3]);
  $i = 2;
  @c = sum(curtask->comm[$i]);
}
