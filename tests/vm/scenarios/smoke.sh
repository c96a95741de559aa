#!/bin/sh
# Smoke test of the VM test bed: IPVS with the rules file given as $1, estimation_timer and kprobe_events present,
# ping over a veth pair into a network namespace, and (when /bin/jl is in the image) the canonical jl one-liner.
#   tests/vm/gen-ipvs-rules 1000 > /tmp/rules-1000; tests/vm/run tests/vm/scenarios/smoke.sh /tmp/rules-1000
. /lib/jl-vm.sh

rules=${1:?usage: smoke.sh IPVS_RULES_FILE}

result kernel "$(uname -r)"
result cpus "$(nproc)"

modprobe ip_vs || fail "modprobe ip_vs failed"
modprobe ip_vs_rr || fail "modprobe ip_vs_rr failed"
result ip_vs_loaded "$(grep -c '^ip_vs ' /proc/modules)"

start=$(now_ms)
ipvsadm -R <"$rules" || fail "ipvsadm -R <$rules failed"
result ipvs_restore_ms $(($(now_ms) - start))
result ipvs_services "$(ipvsadm -Ln | grep -c '^TCP')"

if grep -qw estimation_timer /proc/kallsyms; then
    result estimation_timer_in_kallsyms yes
else
    result estimation_timer_in_kallsyms no
fi
if [ -e /sys/kernel/tracing/kprobe_events ]; then
    result kprobe_events yes
else
    result kprobe_events no
fi
if [ -e /sys/kernel/btf/vmlinux ]; then
    result btf_vmlinux yes
else
    result btf_vmlinux no
fi

# A veth pair into a network namespace (iproute2's ip; busybox ip has no netns) and iputils ping across it.
veth_peer
if ping -c 5 -i 0.2 -W 2 192.168.77.2 >/tmp/ping.out 2>&1; then
    result veth_ping ok
else
    result veth_ping failed
fi
result veth_ping_summary "$(tail -n 1 /tmp/ping.out)"

if [ -x /bin/jl ]; then
    result jl_present yes
    /bin/jl -e 'timer("estimation_timer") < hist(dur) >' --duration 5 >/tmp/jl.out 2>&1
    result jl_rc $?
    result jl_output_lines "$(wc -l </tmp/jl.out)"
    result_lines jl_output /tmp/jl.out
else
    result jl_present no
fi
