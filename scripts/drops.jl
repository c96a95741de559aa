// drops.jl: where packets are dropped, why, on which device and in which namespace, with the kernel stack.
//
// Answers: "which packets does this host drop, where and why?" (Rtrace's drop view). Every packet skb() was
// following that the kernel frees as a drop (skb:kfree_skb, not consume_skb) is counted by the point it was last
// seen at, the drop reason (enum skb_drop_reason, by name: SKB_DROP_REASON_NO_SOCKET, ... see
// /sys/kernel/tracing/events/skb/kfree_skb/format), the device and the namespace in @drops, and by kernel stack
// (where in the stack it was dropped) in @where. Drops that come after a long wait at their last point (at least
// the threshold) are reported one by one as outliers with the CPU, task and stack.
//
// Usage: jl --duration 30 [--arg threshold=10ms] scripts/drops.jl        (threshold: 10ms by default)

param $threshold = 10ms

skb("kfree_skb") {
  @drops[prev, reason, dev, netns] = count();
  @where[reason, kstack(8)] = count();
  outlier($threshold);
}
