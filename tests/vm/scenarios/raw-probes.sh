#!/bin/sh
# Raw function probes on a real kernel: kprobe, kretprobe, fentry, fexit and kfunc count the ICMP echoes of a
# ping across a veth pair into a network namespace; syscall events count dd's reads and writes on raw_syscalls
# and on perf events. Needs /bin/jl (tests/vm/run --jl target/release/jl).
#   tests/vm/run --jl target/release/jl tests/vm/scenarios/raw-probes.sh
. /lib/jl-vm.sh

pings=20

result kernel "$(uname -r)"
[ -x /bin/jl ] || fail "no /bin/jl in the image: pass --jl target/release/jl"
[ -e /sys/kernel/tracing/kprobe_events ] || fail "this kernel has no kprobes"

modprobe veth || fail "modprobe veth failed"
ip netns add peer &&
    ip link add veth-host type veth peer name veth-peer &&
    ip link set veth-peer netns peer &&
    ip addr add 192.168.77.1/24 dev veth-host && ip link set veth-host up &&
    ip -n peer addr add 192.168.77.2/24 dev veth-peer && ip -n peer link set veth-peer up ||
    fail "cannot set up the veth pair into namespace peer"
ping -c 1 -W 5 192.168.77.2 >/dev/null 2>&1 || fail "no ping across the veth pair"

# count NAME: the value of `@NAME: N` in jl's text output (0 when absent).
count() {
    awk -F': ' -v name="@$1" '$1 == name { print $2; found = 1 } END { if (!found) print 0 }' /tmp/jl.out
}

# Syscall events, on raw_syscalls and on their perf-event tracepoints when asked: dd's 37 writes of 1234 bytes
# (args read from pt_regs) and the 37 reads returning 1234 (ret).
for mechanism in perf raw; do
    export JL_TRACEPOINT_MECHANISM=$mechanism
    start_jl 60 "tracepoint:syscalls:sys_enter_write /comm == \"dd\" && args.count == 1234/ { @${mechanism}_write = count(); }
tracepoint:syscalls:sys_exit_read /comm == \"dd\" && args.ret == 1234/ { @${mechanism}_read = count(); }" -v
    dd if=/dev/zero of=/dev/null bs=1234 count=37 2>/dev/null || fail "dd failed"
    # Stopped once dd is done: a --duration counts from jl's start, and attaching can take seconds under TCG.
    kill -INT "$jl_pid"
    finish_jl
    said='sys_enter_write: raw tracepoint raw_syscalls:sys_enter, syscall number 1'
    [ "$mechanism" = raw ] || said='sys_exit_read uses a perf-event tracepoint; raw tracepoints not used'
    grep -q "$said" /tmp/jl.err || fail "jl -v does not say '$said'"
    for probe in write read; do
        n=$(count "${mechanism}_$probe")
        result "${mechanism}_syscall_${probe}_count" "$n"
        [ "$n" -eq 37 ] || fail "sys_*_$probe on $mechanism saw $n calls of dd's 37"
    done
done
unset JL_TRACEPOINT_MECHANISM

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
