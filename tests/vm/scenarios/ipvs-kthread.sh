#!/bin/sh
# ipvs_est() on a kernel whose IPVS estimator runs in kthreads (Linux >= 6.2): restore the services of $1, then
# time the kthreads' walks with `jl -v` for 10 s and report the JSON output, jl's stderr (the mechanism line),
# the bundled ipvs_walks.jl's output and the host namespace's inode; then stall("net_rx") for 8 s while ping
# crosses a veth pair into a pod's namespace (`stall_output.N`: no culprit may be an estimator timer here).
# tests/vm/test-ipvs-kthread asserts on them.
#   tests/vm/gen-ipvs-rules 3000 > /tmp/rules-3000
#   tests/vm/run --kernel 6.12 --jl target/release/jl tests/vm/scenarios/ipvs-kthread.sh /tmp/rules-3000
. /lib/jl-vm.sh

rules=${1:?usage: ipvs-kthread.sh IPVS_RULES_FILE}
[ -x /bin/jl ] || fail "this scenario needs jl (tests/vm/run --jl PATH)"

result kernel "$(uname -r)"
result host_netns "$(stat -L -c %i /proc/self/ns/net)"
modprobe ip_vs || fail "modprobe ip_vs failed"
modprobe ip_vs_rr || fail "modprobe ip_vs_rr failed"
ipvsadm -R <"$rules" || fail "ipvsadm -R <$rules failed"
result services "$(ipvsadm -Ln | grep -c '^TCP')"
for function in estimation_timer ip_vs_estimation_kthread ip_vs_tick_estimation ip_vs_chain_estimation; do
    grep -qw "$function" /proc/kallsyms && result "kallsyms.$function" yes || result "kallsyms.$function" no
done

# The first kthread times a test walk before it takes the new estimators into its rows (the calc phase).
sleep 4
/bin/jl -v -q -f json --duration 10 \
    -e 'ipvs_est() { @walks = count(); @max_ns = max(dur); @min_ns = min(dur); @netns[netns] = count(); @cpu[cpu] = count(); }' \
    >/tmp/jl.out 2>/tmp/jl.err
jl_rc=$?
result jl_rc "$jl_rc"
result_lines jl_output /tmp/jl.out
result_lines jl_stderr /tmp/jl.err
[ "$jl_rc" = 0 ] || fail "jl exited with $jl_rc"

# The bundled investigation script runs here too (it uses no field that only timer-based walks have).
/bin/jl --duration 6 ipvs_walks >/tmp/walks.out 2>/tmp/walks.err || { cat /tmp/walks.err; fail "bundled ipvs_walks failed"; }
result_lines ipvs_walks /tmp/walks.out

# The program of the golden script tests/golden/ipvs_est_kthread.jl, compiled for this kernel: its offsets are the
# ones the golden fixture's ip_vs header uses.
/bin/jl -d -e 'ipvs_est() { @[netns] = count(); }' >/tmp/jl.disasm 2>&1 || fail "jl -d failed"
result_lines disasm /tmp/jl.disasm

# stall() here: the estimator is a kthread (task:ipvs-e:...), so no wait may blame a timer callback for it.
modprobe veth || fail "modprobe veth failed"
ip netns add pod && ip link add veth-host type veth peer name veth-pod && ip link set veth-pod netns pod &&
    ip addr add 192.168.77.1/24 dev veth-host && ip link set veth-host up &&
    ip -n pod addr add 192.168.77.2/24 dev veth-pod && ip -n pod link set veth-pod up ||
    fail "cannot set up the pod namespace"
/usr/local/bin/ping -i 0.01 -q 192.168.77.2 >/tmp/ping.out 2>&1 &
pinger=$!
/bin/jl -q -f json --duration 8 -e 'stall("net_rx") { @waits = count(); @longest = max(dur); @culprits[culprit] = count(); }
stall("net_rx", 1ms) { printf("stall %ld %d%% %s %s\n", dur, share, culprit, culprit2); }' >/tmp/stall.out 2>/tmp/stall.err
stall_rc=$?
kill -INT $pinger 2>/dev/null
wait $pinger 2>/dev/null
result stall_rc "$stall_rc"
result_lines stall_output /tmp/stall.out
result_lines stall_stderr /tmp/stall.err
result ping_summary "$(tail -n 2 /tmp/ping.out | tr '\n' ' ')"
[ "$stall_rc" = 0 ] || fail "jl stall() exited with $stall_rc"
