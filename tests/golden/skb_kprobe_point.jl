// kernel: kprobe
// show: kprobe/ip_output
// skb()'s function point ip_output by kprobe (fentry refused): the skb, its third argument, is read from
// pt_regs' dx register.
skb("ip_output") { @[prev] = count(); }
