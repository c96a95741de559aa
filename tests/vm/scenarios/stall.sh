#!/bin/sh
# stall() on the incident, against ftrace and ping: 30 000 IPVS services (estimation_timer walks of 15-50 ms in
# TIMER softirq) and a pod's traffic whose NET_RX runs on the walk CPU (RPS on the pod-side veth, ping pinned to the
# other CPU: DESIGN.md section 2's recipe). Side by side, in one run of each tool:
#   - `stall("net_rx", 1ms)` printing every wait (`stall.N` results);
#   - ftrace function_graph on estimation_timer alone (set_ftrace_filter; trace_clock mono, the clock of jl's
#     nsecs) giving every walk's CPU, end and duration (`walk.N`), and the phases' bounds as trace markers
#     (`marker.N`): `on` for 20 s, then net.ipv4.vs.run_estimation=0 and `off` for 10 s;
#   - `ping -D -i 0.01` into the pod (its replies of 2 ms or more as `ping.N`, and the summary).
# One jl run for both phases: every attach and detach patches kernel text, and under TCG a detach now and then
# ends in a guest soft lockup (book/src/incident.md). Then 10 s of the bundled triage.jl (`triage.N`), the
# estimator on again. tests/vm/test-stall asserts on the results.
#   tests/vm/gen-ipvs-rules 30000 > /tmp/rules-30000
#   tests/vm/run --jl target/release/jl tests/vm/scenarios/stall.sh /tmp/rules-30000
. /lib/jl-vm.sh

rules=${1:?usage: stall.sh IPVS_RULES_FILE}
tracing=/sys/kernel/tracing
[ -x /bin/jl ] || fail "this scenario needs jl (tests/vm/run --jl PATH)"

# One line per wait: `stall NSECS UNIX_TIME CPU DUR CULPRIT_TIME SHARE UNATTRIBUTED CULPRIT2_TIME CULPRIT CULPRIT2`
# (the culprits last: a task's name may hold spaces). UNIX_TIME pairs jl's clock with ping's.
STALL='stall("net_rx", 1ms) {
    printf("stall %ld %s %d %ld %ld %d %ld %ld %s %s\n", nsecs, strftime("%s.%f", nsecs), cpu, dur, culprit_time, share,
        unattributed, culprit2_time, culprit, culprit2);
}'

# marker NAME: a trace marker line, stamped by ftrace's mono clock.
marker() {
    echo "jl-phase $1" >"$tracing/trace_marker"
}

# walks: what the trace holds so far, one line each: the estimation_timer walks as `walk CPU END_NS DUR_NS`, the
# estimation_timer callback's span between its timer_expire events as `callback_walk CPU END_NS DUR_NS`, the
# markers as `marker NAME NS`, and the hrtimer callbacks and hardirq handlers of 500 us or more as
# `callback CPU END_NS DUR_NS NAME` (their events are stamped where they happen). With funcgraph-abstime a walk
# with nothing traced inside is one line stamped at its entry,
# `   94.088493 |   1) * 20919.50 us |  estimation_timer [ip_vs]();`; one with events inside ends with a line
# stamped at its return (funcgraph-tail names the function): `   94.109412 |   1) * 20919.50 us |  } /* estimation_timer [ip_vs] */`.
walks() {
    awk '
        {
            split($0, parts, "|")
            stamp = parts[1]; gsub(/ /, "", stamp)
            split(stamp, sec, ".")
            ns = sec[1] * 1000000000 + sec[2] * 1000
            cpu = parts[2]; sub(/\).*/, "", cpu); gsub(/ /, "", cpu)
        }
        /jl-phase/ { name = $0; sub(/.*jl-phase /, "", name); sub(/ .*/, "", name); printf "marker %s %.0f\n", name, ns }
        /estimation_timer/ {
            us = ""
            n = split(parts[2], words, " ")
            for (i = 1; i <= n; i++) if (words[i + 1] == "us") us = words[i]
        }
        /estimation_timer.*\(\);/ && us != "" { printf "walk %s %.0f %.0f\n", cpu, ns + us * 1000, us * 1000 }
        /} \/\* estimation_timer/ && us != "" { printf "walk %s %.0f %.0f\n", cpu, ns, us * 1000 }
        /\/\* timer_expire_entry:.*function=estimation_timer/ { callback[cpu] = ns }
        /\/\* timer_expire_exit:/ {
            if (callback[cpu] != "") printf "callback_walk %s %.0f %.0f\n", cpu, ns, ns - callback[cpu]
            callback[cpu] = ""
        }
        /hrtimer_expire_entry:/ { name = $0; sub(/.*function=/, "", name); sub(/ .*/, "", name); open[cpu] = ns; what[cpu] = "hrtimer:" name }
        /irq_handler_entry:/ { name = $0; sub(/.*name=/, "", name); sub(/ .*/, "", name); open[cpu] = ns; what[cpu] = "hardirq:" name }
        /hrtimer_expire_exit:|irq_handler_exit:/ {
            if (open[cpu] != "" && ns - open[cpu] >= 500000) printf "callback %s %.0f %.0f %s\n", cpu, ns, ns - open[cpu], what[cpu]
            open[cpu] = ""
        }' "$tracing/trace"
}

result kernel "$(uname -r)"
# Less noise in the 2-vCPU guest: khugepaged once held a CPU for 15 ms while ksoftirqd waited (a real stall, but
# not the one under test).
echo never >/sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null

# The pod: a network namespace behind a veth pair.
modprobe veth || fail "modprobe veth failed"
ip netns add pod && ip link add veth-host type veth peer name veth-pod && ip link set veth-pod netns pod &&
    ip addr add 192.168.77.1/24 dev veth-host && ip link set veth-host up &&
    ip -n pod addr add 192.168.77.2/24 dev veth-pod && ip -n pod link set veth-pod up &&
    ip -n pod link set lo up || fail "cannot set up the pod namespace"

modprobe ip_vs || fail "modprobe ip_vs failed"
modprobe ip_vs_rr || fail "modprobe ip_vs_rr failed"
grep -qw estimation_timer /proc/kallsyms || fail "this kernel has no estimation_timer (the estimator runs in kthreads)"
start=$(now_ms)
ipvsadm -R <"$rules" || fail "ipvsadm -R failed"
result restore_ms $(($(now_ms) - start))
result services "$(ipvsadm -Ln | grep -c '^TCP')"

# ftrace on estimation_timer alone: set_graph_function by itself would hook every function (walks 2.8x longer).
echo 0 >"$tracing/tracing_on"
echo mono >"$tracing/trace_clock" || fail "no mono trace clock"
echo estimation_timer >"$tracing/set_ftrace_filter" || fail "cannot filter ftrace on estimation_timer"
echo function_graph >"$tracing/current_tracer" || fail "no function_graph tracer"
echo funcgraph-abstime >"$tracing/trace_options"
echo funcgraph-tail >"$tracing/trace_options"
# The timer callbacks' own events (the span jl's timer culprit covers: entry to exit of the callback), and the
# hrtimer callbacks and hardirq handlers: what else stall() may name as a culprit inside a walk.
for event in timer/timer_expire_entry timer/timer_expire_exit timer/hrtimer_expire_entry timer/hrtimer_expire_exit \
    irq/irq_handler_entry irq/irq_handler_exit; do
    echo 1 >"$tracing/events/$event/enable" || fail "cannot enable the $event event"
done
echo 8192 >"$tracing/buffer_size_kb"
echo >"$tracing/trace"
echo 1 >"$tracing/tracing_on"

# The walk CPU: where the host namespace's walks (over 5 ms) run; the pod's namespace has its own, empty, one.
waited=0
until walk_cpu=$(walks | awk '$1 == "walk" && $4 > 5000000 { print $2; exit }') && [ -n "$walk_cpu" ]; do
    [ "$waited" -lt 20 ] || fail "no estimation_timer walk over 5 ms in 10 s"
    sleep 0.5
    waited=$((waited + 1))
done
other_cpu=$((1 - walk_cpu))
result walk_cpu "$walk_cpu"

# The pod's traffic: RPS steers veth-pod's receive to the walk CPU; ping runs on the other one (NET_RX of a veth
# pair otherwise runs where the sender runs, and a sender on the walk CPU cannot send while the walk runs).
ip netns exec pod /bin/sh -c "echo $((1 << walk_cpu)) >/sys/class/net/veth-pod/queues/rx-0/rps_cpus" ||
    fail "cannot set rps_cpus of veth-pod"
result rps_cpus "$(ip netns exec pod cat /sys/class/net/veth-pod/queues/rx-0/rps_cpus)"
taskset $((1 << other_cpu)) /usr/local/bin/ping -D -i 0.01 192.168.77.2 >/tmp/ping.out 2>&1 &
pinger=$!

# Both phases in one jl run; 2 s to settle after its attach (TCG retranslates the patched code) and between them.
/bin/jl --duration 36 -e "$STALL" >/tmp/stall.out 2>/tmp/stall.err &
stall_pid=$!
waited=0
until grep -q '^Attached' /tmp/stall.err; do
    [ "$waited" -lt 100 ] || { cat /tmp/stall.err; fail "jl stall() did not attach within 20 s"; }
    sleep 0.2
    waited=$((waited + 1))
done
result ping_cpu_mask "$(taskset -p $pinger | sed 's/.*: //')"
sleep 2
marker on
sleep 20
marker on-end
echo 0 >/proc/sys/net/ipv4/vs/run_estimation || fail "cannot set net.ipv4.vs.run_estimation"
result run_estimation "$(cat /proc/sys/net/ipv4/vs/run_estimation)"
sleep 2
marker off
sleep 10
marker off-end
echo 0 >"$tracing/tracing_on"
walks >/tmp/walks
result trace_entries "$(grep -o 'entries-in-buffer/entries-written: [0-9/]*' "$tracing/trace")"
grep -m 4 'estimation_timer' "$tracing/trace" >/tmp/trace.sample
echo nop >"$tracing/current_tracer"
result_lines trace /tmp/walks
result_lines ftrace_sample /tmp/trace.sample
wait "$stall_pid" || { cat /tmp/stall.err; fail "jl stall() failed"; }
result_lines stall /tmp/stall.out
result stall_stderr "$(grep -v '^Attached' /tmp/stall.err)"

# The bundled first look, with the estimator back on and the pings still running: its verdict must name the walk.
echo 1 >/proc/sys/net/ipv4/vs/run_estimation
/bin/jl --duration 10 --arg threshold=5ms triage >/tmp/triage.out 2>/tmp/triage.err ||
    { cat /tmp/triage.err; fail "bundled triage.jl failed"; }
result_lines triage /tmp/triage.out

kill -INT $pinger 2>/dev/null
wait $pinger 2>/dev/null
result ping_replies "$(grep -c 'time=' /tmp/ping.out)"
result ping_summary "$(tail -n 2 /tmp/ping.out | tr '\n' ' ')"
# Replies of 2 ms or more: `[UNIX_TIME] 64 bytes from ...: icmp_seq=N ttl=64 time=T ms`.
grep 'time=' /tmp/ping.out | awk '{ t = $0; sub(/.*time=/, "", t); sub(/ .*/, "", t); if (t + 0 >= 2) print }' >/tmp/ping.slow
result_lines ping /tmp/ping.slow
