// A histogram keyed by a name of a fixed table is a per-CPU array of names x buckets: the slot is the name's
// index times the buckets plus the bucket, and the update is an inlined lookup with no insert (never full).
// Keyed by a name and something else, it stays a per-CPU hash of the buckets written.
softirq() { @[name] = hist(dur); @both[name, cpu] = hist(dur); }
