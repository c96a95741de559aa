#!/bin/sh
# `tracepoint:` blocks reading `args` on a real kernel: fields the tracepoint's arguments hold are read from a raw
# tracepoint, and agree with a second block that reads an unmapped field and so runs on the perf-event
# tracepoint (the same events, in one jl run, in an idle guest where no BPF program skips the other).
#   tests/vm/run --kernel 5.10 --jl target/release/jl tests/vm/scenarios/tracepoint-args.sh
. /lib/jl-vm.sh

pings=20

result kernel "$(uname -r)"
[ -x /bin/jl ] || fail "no /bin/jl in the image: pass --jl target/release/jl"

veth_peer

# skbaddr and vec are arguments (raw tracepoint); len and prev_state are not (perf-event tracepoint).
script='tracepoint:net:netif_receive_skb { @raw_rx[args.skbaddr != 0] = count(); }
tracepoint:net:netif_receive_skb { @perf_rx[args.skbaddr != 0, args.len > 0] = count(); }
tracepoint:sched:sched_switch { @raw_next[args.next_comm, args.next_pid, args.next_prio] = count(); }
tracepoint:sched:sched_switch { @perf_next[args.next_comm, args.next_pid, args.next_prio] = count(); @state[args.prev_state] = count(); }
tracepoint:irq:softirq_entry { @raw_vec[args.vec] = count(); }'
start_jl 8 "$script" -v || fail "jl did not attach"
ping -c "$pings" -i 0.05 -W 2 192.168.77.2 >/tmp/ping.out 2>&1 || result ping_failed yes
finish_jl

# Each block reading only mapped fields is on a raw tracepoint, unless the kernel's BTF does not name the
# tracepoint's arguments (5.10: no __bpf_trace_* functions), which -v says; the values agree either way.
for event in net:netif_receive_skb sched:sched_switch irq:softirq_entry; do
    if grep -q "tracepoint:$event -> rawtracepoint:" /tmp/jl.err; then
        result "raw_$event" yes
    elif grep -q "$event uses a perf-event tracepoint; .*BTF does not name the tracepoint's arguments" /tmp/jl.err; then
        result "raw_$event" "no: BTF names no arguments"
    else
        fail "$event reads only mapped fields but is not on a raw tracepoint"
    fi
done
grep -q 'args.prev_state is not among its arguments' /tmp/jl.err || fail "jl -v does not say why prev_state is perf"
grep -q 'args.len is not among its arguments' /tmp/jl.err || fail "jl -v does not say why len is perf"

# value KEY: the count of `KEY: N` in jl's text output (0 when absent).
value() {
    awk -F': ' -v key="$1" '$1 == key { print $2; found = 1 } END { if (!found) print 0 }' /tmp/jl.out
}
raw_rx=$(value '@raw_rx[true]')
perf_rx=$(value '@perf_rx[true, true]')
result raw_rx "$raw_rx"
result perf_rx "$perf_rx"
[ "$raw_rx" -ge $((2 * pings)) ] || fail "netif_receive_skb saw $raw_rx packets for $pings pings"
[ "$raw_rx" = "$perf_rx" ] || fail "skbaddr from the argument ($raw_rx) and the record ($perf_rx) disagree"
[ "$(value '@raw_rx[false]')" = 0 ] || fail "a null skbaddr from the argument"
# The same (comm, pid, prio) keys both ways: each task switched to 5 times or more one way appears the other way
# (wrong values from the arguments would make keys the record never has). Counts differ by the switches at the
# edges: the two programs attach and detach one after the other, slowly in the emulated guest.
grep '^@raw_next\[' /tmp/jl.out | sed 's/^@raw_next//' | sort >/tmp/raw_next
grep '^@perf_next\[' /tmp/jl.out | sed 's/^@perf_next//' | sort >/tmp/perf_next
result switches_raw "$(awk -F': ' '{ n += $2 } END { print n }' /tmp/raw_next)"
result switches_perf "$(awk -F': ' '{ n += $2 } END { print n }' /tmp/perf_next)"
awk '{ match($0, /: [0-9]+$/); key = substr($0, 1, RSTART - 1); n = substr($0, RSTART + 2) + 0; keys[key] = 1
        if (FILENAME == ARGV[1]) raw[key] = n; else perf[key] = n }
    END { for (k in keys) { a = raw[k] + 0; r = perf[k] + 0
              if ((a >= 5 && r == 0) || (r >= 5 && a == 0)) {
                  print k ": " a " from the arguments, " r " from the record"; bad = 1 } }
          exit bad }' /tmp/raw_next /tmp/perf_next >/tmp/differ ||
    { result_lines differ /tmp/differ; fail "sched_switch next task: arguments and record disagree"; }
grep -q '^@raw_vec\[3\]' /tmp/jl.out || fail "no NET_RX (vec 3) from softirq_entry's argument"
awk -F'[][]' '/^@raw_vec\[/ { if ($2 > 9) bad = 1 } END { exit bad }' /tmp/jl.out || fail "a softirq vector above 9"
result checks passed
