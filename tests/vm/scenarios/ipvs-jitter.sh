#!/bin/sh
# The incident, reproduced: IPVS with 1 000 then 30 000 services, the estimator walk timed by jl's canonical
# typed probe, TIMER softirq run times measured at the same time, then net.ipv4.vs.run_estimation=0.
#   Files: $1 = ipvsadm -R input for the first 1 000 services, $2 = the remaining 29 000.
# Each phase reports jl's JSON output lines as @@JL-RESULT PHASE.N=LINE; tests/vm/test-ipvs-jitter asserts on them.
. /lib/jl-vm.sh

first=${1:?usage: ipvs-jitter.sh RULES_FIRST_1000 RULES_REST}
rest=${2:?usage: ipvs-jitter.sh RULES_FIRST_1000 RULES_REST}
[ -x /bin/jl ] || fail "this scenario needs jl (tests/vm/run --jl PATH)"

WALKS='timer("estimation_timer") { @walks = count(); @max_ns = max(dur); @mean_ns = avg(dur); @ = hist(dur); }'
SOFTIRQ='tracepoint:irq:softirq_entry { @start[cpu] = nsecs; }
tracepoint:irq:softirq_exit /@start[cpu] != 0/ { @softirq_max_ns[args.vec] = max(nsecs - @start[cpu]); }'

# measure PHASE SECONDS: run both scripts side by side for SECONDS and report their output.
measure() {
    /bin/jl -f json --duration "$2" -e "$WALKS" >"/tmp/$1.walks" 2>"/tmp/$1.walks.err" &
    walks=$!
    /bin/jl -f json --duration "$2" -e "$SOFTIRQ" >"/tmp/$1.softirq" 2>"/tmp/$1.softirq.err" &
    softirq=$!
    wait $walks || { cat "/tmp/$1.walks.err"; fail "jl (walks) failed in phase $1"; }
    wait $softirq || { cat "/tmp/$1.softirq.err"; fail "jl (softirq) failed in phase $1"; }
    result_lines "$1.walks" "/tmp/$1.walks"
    result_lines "$1.softirq" "/tmp/$1.softirq"
}

result kernel "$(uname -r)"
modprobe ip_vs || fail "modprobe ip_vs failed"
modprobe ip_vs_rr || fail "modprobe ip_vs_rr failed"

ipvsadm -R <"$first" || fail "ipvsadm -R (first 1000) failed"
result services_small "$(ipvsadm -Ln | grep -c '^TCP')"
measure small 7

start=$(now_ms)
ipvsadm -R <"$rest" || fail "ipvsadm -R (rest) failed"
result restore_rest_ms $(($(now_ms) - start))
result services_large "$(ipvsadm -Ln | grep -c '^TCP')"
measure large 7
/bin/jl estimation_timer --duration 5 >/tmp/script.out 2>/tmp/script.err || { cat /tmp/script.err; fail "bundled estimation_timer script failed"; }
result_lines script /tmp/script.out

if [ -w /proc/sys/net/ipv4/vs/run_estimation ]; then
    echo 0 >/proc/sys/net/ipv4/vs/run_estimation
    result run_estimation "$(cat /proc/sys/net/ipv4/vs/run_estimation)"
    measure off 5
else
    result run_estimation absent
fi
