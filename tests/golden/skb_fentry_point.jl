// kernel: fentry
// show: fentry/ip_output
// skb()'s function point ip_output by fentry: the skb is its third argument (BTF prototype), the third u64
// of the trampoline's argument array; the device name comes from skb->dev.
skb("ip_output") { @[prev] = count(); }
