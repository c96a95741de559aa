// A loop over a sum() map: each entry's value is its values on every CPU merged (bpf_map_lookup_percpu_elem in
// the callback, with the key the callback copied to the loop variable), not the callback's CPU's share.
tracepoint:irq:softirq_entry { @s[args.vec] = sum(args.vec); }
tracepoint:irq:softirq_exit { for ($kv : @s) { printf("%d %d\n", $kv.0, $kv.1); } }
