// A kernel enum: kfree_skb's `reason` (`enum skb_drop_reason`) read as the 4-byte unsigned integer it is,
// compared with an enumerator the kernel's BTF names (a constant), kept in 8 bytes as a map key and value (user
// space prints it by name).
tracepoint:skb:kfree_skb /args.reason != SKB_DROP_REASON_NOT_SPECIFIED/ { @[args.reason] = count(); @last = args.reason; }
