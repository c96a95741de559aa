# Helpers for scenarios, installed in the guest as /lib/jl-vm.sh: `. /lib/jl-vm.sh`.
# Results go to the console framed by markers; tests/vm/run collects them into results.txt.

# result KEY VALUE...: report one fact as `@@JL-RESULT KEY=VALUE` (the value is kept on one line).
result() {
    key=$1
    shift
    echo "@@JL-RESULT $key=$(echo "$*" | tr '\n' ' ' | sed 's/ *$//')"
}

# result_lines KEY FILE: report every line of FILE as `@@JL-RESULT KEY.N=LINE` (N counts from 1).
result_lines() {
    awk -v key="$1" '{ printf "@@JL-RESULT %s.%d=%s\n", key, NR, $0 }' "$2"
}

# result_gzip KEY FILE: report FILE gzip'd and base64'd as `@@JL-RESULT KEY.gz.N=CHUNK` lines, for outputs of
# thousands of lines the serial console would take long to carry; the host reads it back with
# `sed -n 's/^KEY\.gz\.[0-9]*=//p' results.txt | base64 -d | gunzip`.
result_gzip() {
    gzip -c "$2" | base64 -w 120 | awk -v key="$1" '{ printf "@@JL-RESULT %s.gz.%d=%s\n", key, NR, $0 }'
}

# now_ms: milliseconds since boot (10 ms resolution), for timing steps inside the guest.
now_ms() {
    awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# fail MESSAGE: report an error and stop the scenario with exit code 1.
fail() {
    echo "@@JL-ERROR $*"
    exit 1
}

# Debian's busybox sh runs its own applets before searching PATH, so `ip` and `ping` would be busybox's (no netns,
# no sub-second intervals). These functions make them the real iproute2 and iputils tools.
ip() { /usr/local/bin/ip "$@"; }
ping() { /usr/local/bin/ping "$@"; }

# veth_peer: a veth pair from the guest (veth-host, 192.168.77.1) into network namespace peer (veth-peer,
# 192.168.77.2, with its loopback up), checked by one ping; fails the scenario when any step fails.
veth_peer() {
    modprobe veth || fail "modprobe veth failed"
    ip netns add peer &&
        ip link add veth-host type veth peer name veth-peer &&
        ip link set veth-peer netns peer &&
        ip addr add 192.168.77.1/24 dev veth-host && ip link set veth-host up &&
        ip -n peer addr add 192.168.77.2/24 dev veth-peer && ip -n peer link set veth-peer up &&
        ip -n peer link set lo up ||
        fail "cannot set up the veth pair into namespace peer"
    ping -c 1 -W 5 192.168.77.2 >/dev/null 2>&1 || fail "no ping across the veth pair"
}

# start_jl SECONDS SCRIPT: runs `/bin/jl -e SCRIPT --duration SECONDS` in the background (stdout in /tmp/jl.out,
# stderr in /tmp/jl.err, its pid in jl_pid) and waits until it says its probes are attached (at most 15 s: a
# debug build of jl takes over 5 s to attach in the emulated guest).
start_jl() {
    seconds=$1 script=$2
    shift 2
    # Emptied here, not by the redirections below: those run in the background child, and the wait for `Attached`
    # could read the last run's file first and return before this jl attached (runs after the first in a guest
    # then counted nothing: the SIGINT meant for the end of the run came right after attaching).
    : >/tmp/jl.out
    : >/tmp/jl.err
    /bin/jl "$@" -e "$script" --duration "$seconds" >/tmp/jl.out 2>/tmp/jl.err &
    jl_pid=$!
    waited=0
    while [ "$waited" -lt 75 ]; do
        grep -q '^Attached' /tmp/jl.err && return 0
        sleep 0.2
        waited=$((waited + 1))
    done
    return 1
}

# finish_jl: waits for the jl of start_jl, reports its exit code (jl_rc), output and stderr, and fails unless it
# exited 0.
finish_jl() {
    wait "$jl_pid"
    jl_rc=$?
    result jl_rc "$jl_rc"
    result_lines jl_output /tmp/jl.out
    result_lines jl_stderr /tmp/jl.err
    [ "$jl_rc" = 0 ] || fail "jl exited with $jl_rc"
}
