#!/bin/sh
# stall() on an older kernel (Debian 5.10 in CI): `jl --dry-run` of a stall() script (the verifier must accept its
# programs), then 4 s of stall("net_rx") live while ping crosses a veth pair into a network namespace.
# tests/vm/test-stall checks it.
#   tests/vm/run --kernel 5.10 --jl target/release/jl tests/vm/scenarios/stall-load.sh
. /lib/jl-vm.sh

[ -x /bin/jl ] || fail "this scenario needs jl (tests/vm/run --jl PATH)"
result kernel "$(uname -r)"

/bin/jl --dry-run -e 'stall(5ms) { @[culprit] = sum(culprit_time); }' >/tmp/dry.out 2>&1
result dry_run_rc $?
result dry_run "$(cat /tmp/dry.out)"

modprobe veth || fail "modprobe veth failed"
ip netns add pod && ip link add veth-host type veth peer name veth-pod && ip link set veth-pod netns pod &&
    ip addr add 192.168.77.1/24 dev veth-host && ip link set veth-host up &&
    ip -n pod addr add 192.168.77.2/24 dev veth-pod && ip -n pod link set veth-pod up ||
    fail "cannot set up the pod namespace"
/usr/local/bin/ping -i 0.01 192.168.77.2 >/tmp/ping.out 2>&1 &
pinger=$!
/bin/jl --duration 4 -e 'stall("net_rx") { @waits = count(); @longest = max(dur); @[culprit] = sum(culprit_time); }' \
    >/tmp/live.out 2>&1
result live_rc $?
result_lines live /tmp/live.out
kill -INT $pinger 2>/dev/null
wait $pinger 2>/dev/null
