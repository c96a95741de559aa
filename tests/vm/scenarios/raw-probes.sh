#!/bin/sh
# Raw function probes on a real kernel: kprobe, kretprobe, fentry, fexit and kfunc count the ICMP echoes of a
# ping across a veth pair into a network namespace. Needs /bin/jl (tests/vm/run --jl target/release/jl).
#   tests/vm/run --jl target/release/jl tests/vm/scenarios/raw-probes.sh
. /lib/jl-vm.sh

pings=20

result kernel "$(uname -r)"
[ -x /bin/jl ] || fail "no /bin/jl in the image: pass --jl target/release/jl"
[ -e /sys/kernel/tracing/kprobe_events ] || fail "this kernel has no kprobes"

veth_peer

# One jl run, every mechanism at once: each echo request and reply passes ip_rcv and icmp_rcv once.
script='kprobe:icmp_rcv { @kprobe = count(); @kprobe_skb_set[args.skb != 0] = count(); }
kretprobe:icmp_rcv { @kretprobe = count(); @kretprobe_retval[retval] = count(); }
fentry:ip_rcv { @fentry = count(); @fentry_dev_set[args.dev != 0] = count(); }
fexit:icmp_rcv { @fexit = count(); @fexit_retval[retval] = count(); }
kfunc:ip_rcv { @kfunc = count(); }'
start=$(now_ms)
start_jl 8 "$script"
result jl_attach_ms $(($(now_ms) - start))
ping -c "$pings" -i 0.05 -W 2 192.168.77.2 >/tmp/ping.out 2>&1 || result ping_failed yes
finish_jl

# count NAME: the value of `@NAME: N` in jl's text output (0 when absent).
count() {
    awk -F': ' -v name="@$1" '$1 == name { print $2; found = 1 } END { if (!found) print 0 }' /tmp/jl.out
}
for probe in kprobe kretprobe fentry fexit kfunc; do
    n=$(count "$probe")
    result "${probe}_count" "$n"
    # Requests are received in the peer namespace and replies on the host: two calls per ping, no other IPv4.
    [ "$n" -eq $((2 * pings)) ] || fail "$probe saw $n calls for $pings pings (expected $((2 * pings)))"
done
grep '^@kretprobe_retval' /tmp/jl.out | sed 's/^@kretprobe_retval//' >/tmp/kretprobe.ret
grep '^@fexit_retval' /tmp/jl.out | sed 's/^@fexit_retval//' >/tmp/fexit.ret
cmp -s /tmp/kretprobe.ret /tmp/fexit.ret || fail "kretprobe and fexit disagree on icmp_rcv's return values"
grep -q '^@kprobe_skb_set\[0\]' /tmp/jl.out && fail "kprobe read a null args.skb"
grep -q '^@fentry_dev_set\[0\]' /tmp/jl.out && fail "fentry read a null args.dev"
# kfunc and kretfunc with fentry turned off: the same counts through a kprobe and a kretprobe, and -v says why.
start_jl 6 'kfunc:ip_rcv { @nofentry_kfunc = count(); } kretfunc:icmp_rcv { @nofentry_kretfunc = count(); }' \
    --no-fentry -v
ping -c "$pings" -i 0.05 -W 2 192.168.77.2 >/dev/null 2>&1 || result ping_failed yes
finish_jl
for probe in nofentry_kfunc nofentry_kretfunc; do
    n=$(count "$probe")
    result "${probe}_count" "$n"
    [ "$n" -eq $((2 * pings)) ] || fail "$probe saw $n calls for $pings pings (expected $((2 * pings)))"
done
grep -q 'kfunc:ip_rcv uses a kprobe; fentry not used: turned off with --no-fentry' /tmp/jl.err ||
    fail "jl -v does not say why kfunc used a kprobe"
grep -q 'kretfunc:icmp_rcv uses a kprobe; fentry not used: turned off with --no-fentry' /tmp/jl.err ||
    fail "jl -v does not say why kretfunc used a kprobe"
grep -q 'kprobe:ip_rcv' /tmp/jl.err || fail "jl -v does not show kfunc:ip_rcv resolved to kprobe:ip_rcv"

result checks passed
