#!/bin/sh
# skb()'s function points on a real kernel: pings from a bridge on the host, through a veth pair, into a network
# namespace. jl runs twice: as it chooses (fentry for vmlinux functions, kprobe for the veth and bridge modules'
# functions), then with --no-fentry (kprobes everywhere). Each run reports the `-v` lines and the count of every
# (prev, hop) pair of the echo packets. Then the bundled pingtrace.jl and drops.jl (refused TCP connections into
# the namespace provoke the drops), and the ground truth: every hop of every echo printed with its sequence next
# to ping's round trips, one ping at a time, as a flood with a TCP stream alongside, the same with GRO on the
# namespace's veth, and with the IPVS services of RULES (80 000 in test-skb-path) walked by estimation_timer,
# whose walks are printed too. `ipvsadm -R` restores them in the background from the start (1-4 ms a service
# under TCG, the more the busier the host): the runs before the last one see the estimator walk a growing table.
# Needs /bin/jl (tests/vm/run --jl target/release/jl).
#   tests/vm/gen-ipvs-rules 80000 >/tmp/rules-80000
#   tests/vm/run --jl target/release/jl tests/vm/scenarios/skb-path.sh /tmp/rules-80000
. /lib/jl-vm.sh

rules=${1:?usage: skb-path.sh RULES (ipvsadm -R input)}
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

# IPVS loaded on CPU 0, where the estimator's timer is then armed (and re-armed by each walk): the last run steers
# the namespace's NET_RX there. The services go in meanwhile.
taskset 1 modprobe ip_vs && modprobe ip_vs_rr || fail "modprobe ip_vs failed"
restore_start=$(now_ms)
ipvsadm -R <"$rules" &
restorer=$!

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

peer_netns=$(stat -L -c %i /run/netns/peer)
result peer_netns "$peer_netns"

# The bundled pingtrace.jl, on the namespace's hops only, for 5 echoes of id 4242.
/bin/jl --arg "netns=$peer_netns" -c "/usr/local/bin/ping -e 4242 -c 5 -i 0.1 -W 2 192.168.78.2" pingtrace \
    >/tmp/pingtrace.out 2>/tmp/pingtrace.err
result pingtrace_rc $?
result_lines pingtrace_output /tmp/pingtrace.out
result_lines pingtrace_stderr /tmp/pingtrace.err

# The bundled drops.jl while 5 TCP connections knock on a closed port in the namespace: tcp_v4_rcv drops each SYN
# (NO_SOCKET). The reason's number comes from the kfree_skb tracepoint's format (it moved between kernels).
result no_socket_reason "$(grep -o '{ [0-9]*, "NO_SOCKET" }' /sys/kernel/tracing/events/skb/kfree_skb/format |
    grep -o '[0-9][0-9]*')"
printf '#!/bin/sh\nfor i in 1 2 3 4 5; do busybox nc -w 1 192.168.78.2 9 </dev/null; done\nexit 0\n' >/tmp/knock
/bin/jl -c "/bin/sh /tmp/knock" drops >/tmp/drops.out 2>/tmp/drops.err
result drops_rc $?
result_lines drops_output /tmp/drops.out
result_lines drops_stderr /tmp/drops.err

# hops NAME PING_ARGS [SCRIPT [PREFIX]]: every hop of the echoes (when it was printed, sequence, source address,
# the two points, the time between them, device) and ping's round trips in one output, gzip'd as NAME.gz.N
# (thousands of lines); SCRIPT is traced alongside, PREFIX runs ping (taskset 2). Results: NAME_ms, NAME_rc,
# NAME_stderr.N (jl's lost-data warnings).
hops() {
    name=$1
    start=$(now_ms)
    /bin/jl -c "$4 /usr/local/bin/ping $2 -W 2 192.168.78.2" -e "
        skb() /icmp_seq > 0/ { printf(\"hop %ld %d %s %s %s %ld %s\\n\", nsecs, icmp_seq, saddr, prev, hop, dur, dev); }
        $3" >"/tmp/$name.out" 2>"/tmp/$name.err"
    rc=$?
    result "${name}_ms" $(($(now_ms) - start))
    result "${name}_rc" "$rc"
    result_lines "${name}_stderr" "/tmp/$name.err"
    result_gzip "$name" "/tmp/$name.out"
}

# stream SECONDS: TCP data from the host into the namespace for SECONDS, in the background (pid in streamer).
stream() {
    nsenter --net=/run/netns/peer busybox nc -l -p 5201 >/dev/null &
    sleep 0.5
    busybox timeout "$1" busybox nc 192.168.78.2 5201 </dev/zero &
    streamer=$!
}

hops single "-c $pings -i 0.1"
stream 6
hops flood "-c 1000 -i 0.001"
wait "$streamer"
# GRO on the namespace's veth (its NAPI path, where GRO merges free skbs no tracepoint sees), segments from the
# host small enough to merge.
ethtool -K br0 tso off && ethtool -K veth-host tso off && nsenter --net=/run/netns/peer ethtool -K veth-peer gro on ||
    fail "cannot turn GRO on"
stream 6
hops gro "-c 1000 -i 0.001"
wait "$streamer"

nsenter --net=/run/netns/peer ethtool -K veth-peer gro off || fail "cannot turn GRO off"

# The incident: the IPVS estimator walks the services every 2 s in TIMER softirq on CPU 0, where the namespace's
# NET_RX is steered (RPS), while ping sends from CPU 1: echoes sent during a walk wait in CPU 0's backlog.
ip netns exec peer /bin/sh -c "echo 1 >/sys/class/net/veth-peer/queues/rx-0/rps_cpus" ||
    fail "cannot set rps_cpus of veth-peer"
wait "$restorer" || fail "ipvsadm -R failed"
result restore_ms $(($(now_ms) - restore_start))
result services "$(grep -c '^TCP' /proc/net/ip_vs)"
hops walks "-c 750 -i 0.02" 'timer("estimation_timer") { printf("walk %ld %ld %d\n", nsecs, dur, cpu); }' "taskset 2"
result checks passed
