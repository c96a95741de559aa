#!/bin/sh
# skb()'s function points on a real kernel: pings from a bridge on the host, through a veth pair, into a network
# namespace. jl runs twice (then once more for the ground truth, below): as it chooses (fentry for vmlinux functions, kprobe for the veth and bridge modules'
# functions), then with --no-fentry (kprobes everywhere). Each run reports the `-v` lines and the count of every
# (prev, hop) pair of the echo packets. Needs /bin/jl (tests/vm/run --jl target/release/jl).
#   tests/vm/run --jl target/release/jl tests/vm/scenarios/skb-path.sh
. /lib/jl-vm.sh

pings=10

result kernel "$(uname -r)"
[ -x /bin/jl ] || fail "no /bin/jl in the image: pass --jl target/release/jl"

modprobe veth || fail "modprobe veth failed"
modprobe bridge || fail "modprobe bridge failed"
ip netns add peer &&
    ip link add br0 type bridge &&
    ip link add veth-host type veth peer name veth-peer &&
    ip link set veth-host master br0 &&
    ip link set veth-peer netns peer &&
    ip addr add 192.168.78.1/24 dev br0 && ip link set br0 up && ip link set veth-host up &&
    ip -n peer addr add 192.168.78.2/24 dev veth-peer && ip -n peer link set veth-peer up ||
    fail "cannot set up br0 -> veth pair -> namespace peer"
# The bridge port needs a moment before it forwards; the first ping also fills the ARP and forwarding tables.
for _ in 1 2 3 4 5 6 7 8 9 10; do
    ping -c 1 -W 1 192.168.78.2 >/dev/null 2>&1 && break
done
ping -c 1 -W 2 192.168.78.2 >/dev/null 2>&1 || fail "no ping across br0 and the veth pair"

# One run: `jl -v [OPTIONS]` counts each (prev, hop) pair of the echo packets while ping runs (jl -c stops
# when ping exits). Results: NAME_rc, NAME_stderr.N (the -v lines), NAME_output.N (the counts).
trace() {
    name=$1
    shift
    start=$(now_ms)
    /bin/jl -v "$@" -c "/usr/local/bin/ping -q -c $pings -i 0.05 -W 2 192.168.78.2" \
        -e 'skb() /icmp_seq > 0/ { @[prev, hop] = count(); }' >"/tmp/$name.out" 2>"/tmp/$name.err"
    rc=$?
    result "${name}_ms" $(($(now_ms) - start))
    result "${name}_rc" "$rc"
    result_lines "${name}_stderr" "/tmp/$name.err"
    result_lines "${name}_output" "/tmp/$name.out"
    [ "$rc" = 0 ] || fail "jl $* exited with $rc"
}

trace auto
trace kprobe --no-fentry

# Ground truth: every hop of every echo with its sequence and direction, and ping's round trip of each (ping
# prints into the same output). test-skb-path checks that an echo's hops up to the reply's arrival fit its RTT.
/bin/jl -c "/usr/local/bin/ping -c $pings -i 0.05 -W 2 192.168.78.2" \
    -e 'skb() /icmp_seq > 0/ { printf("hop %d %s %s %s %d\n", icmp_seq, saddr, prev, hop, dur); }' \
    >/tmp/truth.out 2>/tmp/truth.err
result truth_rc $?
result_lines truth_output /tmp/truth.out
result checks passed
