#!/bin/sh
# The incident, reproduced: IPVS with 1 000 then 30 000 services, the estimator walk timed by jl's canonical
# typed probe, TIMER softirq run times measured at the same time, then net.ipv4.vs.run_estimation=0.
#   Files: $1 = ipvsadm -R input for the first 1 000 services, $2 = the remaining 29 000.
# Each phase reports jl's JSON output lines as @@JL-RESULT PHASE.N=LINE; tests/vm/test-ipvs-jitter asserts on them.
. /lib/jl-vm.sh

first=${1:?usage: ipvs-jitter.sh RULES_FIRST_1000 RULES_REST}
rest=${2:?usage: ipvs-jitter.sh RULES_FIRST_1000 RULES_REST}
[ -x /bin/jl ] || fail "this scenario needs jl (tests/vm/run --jl PATH)"

# Each walk is also printed with the time it ended, so the checker can pair the two probes' walks one by one: the
# probes attach one after the other and detach in parallel, so a walk at either edge of the run may be seen by one.
WALKS='timer("estimation_timer") { @walks = count(); @max_ns = max(dur); @mean_ns = avg(dur); @ = hist(dur);
    printf("walk timer %ld %ld\n", nsecs, dur); }
ipvs_est() { @est_walks = count(); @est_max_ns = max(dur); @est_netns[netns] = max(dur);
    printf("walk ipvs_est %ld %ld\n", nsecs, dur); }'
SOFTIRQ='softirq() { @softirq_max_ns[vec] = max(dur); }
softirq_delay("net_rx") { @net_rx_wait_max_ns = max(dur); }'

# measure PHASE SECONDS: run both scripts side by side for SECONDS and report their output.
measure() {
    /bin/jl -q -f json --duration "$2" -e "$WALKS" >"/tmp/$1.walks" 2>"/tmp/$1.walks.err" &
    walks=$!
    /bin/jl -q -f json --duration "$2" -e "$SOFTIRQ" >"/tmp/$1.softirq" 2>"/tmp/$1.softirq.err" &
    softirq=$!
    wait $walks || { cat "/tmp/$1.walks.err"; fail "jl (walks) failed in phase $1"; }
    wait $softirq || { cat "/tmp/$1.softirq.err"; fail "jl (softirq) failed in phase $1"; }
    result_lines "$1.walks" "/tmp/$1.walks"
    result_lines "$1.softirq" "/tmp/$1.softirq"
}

result kernel "$(uname -r)"

# A "pod": a network namespace behind a veth pair, pinged every 10 ms while the 30 000 services are measured (the incident's
# `ping -i 0.01`), so NET_RX softirqs run while the estimator walks.
modprobe veth || fail "modprobe veth failed"
ip netns add pod && ip link add veth-host type veth peer name veth-pod && ip link set veth-pod netns pod &&
    ip addr add 192.168.77.1/24 dev veth-host && ip link set veth-host up &&
    ip -n pod addr add 192.168.77.2/24 dev veth-pod && ip -n pod link set veth-pod up ||
    fail "cannot set up the pod namespace"

result pod_netns "$(stat -L -c %i /run/netns/pod)"
result host_netns "$(stat -L -c %i /proc/self/ns/net)"
modprobe ip_vs || fail "modprobe ip_vs failed"
modprobe ip_vs_rr || fail "modprobe ip_vs_rr failed"

ipvsadm -R <"$first" || fail "ipvsadm -R (first 1000) failed"
result services_small "$(ipvsadm -Ln | grep -c '^TCP')"
measure small 7

# Ping only while 30 000 services are measured: under TCG the extra load would blur the 1 000-service baseline.
# The real binary, not the lib.sh wrapper function: a backgrounded function would be a subshell, and the
# SIGINT below would not reach ping.
/usr/local/bin/ping -i 0.01 -q 192.168.77.2 >/tmp/ping.out 2>&1 &
pinger=$!

start=$(now_ms)
ipvsadm -R <"$rest" || fail "ipvsadm -R (rest) failed"
result restore_rest_ms $(($(now_ms) - start))
result services_large "$(ipvsadm -Ln | grep -c '^TCP')"
measure large 7
/bin/jl estimation_timer --duration 5 >/tmp/script.out 2>/tmp/script.err || { cat /tmp/script.err; fail "bundled estimation_timer script failed"; }
result_lines script /tmp/script.out

# The other investigation steps, as bundled scripts, while the 30 000-service walks and the pings run.
bundled() { # bundled NAME SECONDS [ARGS...]: runs a bundled script, reports its output as NAME.N lines
    name=$1 seconds=$2
    shift 2
    /bin/jl --duration "$seconds" "$@" "$name" >"/tmp/$name.out" 2>"/tmp/$name.err" ||
        { cat "/tmp/$name.err"; fail "bundled $name script failed"; }
    result_lines "$name" "/tmp/$name.out"
}
bundled icmp_softirq 3 --arg type=8
bundled softirq_durations 5
bundled cpu_flamegraph 5 -f folded
bundled skb_hops 4 --arg threshold=5ms
bundled triage 8 --arg threshold=5ms
bundled ipvs_walks 5
bundled irqoff 6 --arg threshold=5ms

kill -INT $pinger 2>/dev/null
wait $pinger 2>/dev/null
result ping_summary "$(tail -n 2 /tmp/ping.out | tr '\n' ' ')"

if [ -w /proc/sys/net/ipv4/vs/run_estimation ]; then
    echo 0 >/proc/sys/net/ipv4/vs/run_estimation
    result run_estimation "$(cat /proc/sys/net/ipv4/vs/run_estimation)"
    measure off 5
else
    result run_estimation absent
fi
