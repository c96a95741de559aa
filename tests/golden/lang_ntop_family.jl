// ntop(af, addr) with a family known at run time: 8 bytes of family, 16 of address (an IPv4 one in the first 4).
rawtracepoint:netif_receive_skb {
  $sk = args.arg0->sk;
  @v4[ntop($sk->__sk_common.skc_family, $sk->__sk_common.skc_daddr)] = count();
  @v6[ntop($sk->__sk_common.skc_family, $sk->__sk_common.skc_v6_daddr)] = count();
}
