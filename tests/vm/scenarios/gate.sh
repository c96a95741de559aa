#!/bin/sh
# The start/stop gate on an older kernel: two probes on sched_switch, through tp_btf, raw tracepoints and perf
# events in turn, load (each program reads the gate, a global of its own: Linux 5.2), count, and count the same
# window. Needs /bin/jl.
#   tests/vm/run --kernel 5.10 --jl target/release/jl tests/vm/scenarios/gate.sh
. /lib/jl-vm.sh

result kernel "$(uname -r)"
[ -x /bin/jl ] || fail "no /bin/jl in the image: pass --jl target/release/jl"

# A steady stream of switches: a shell sleeping in a loop.
(while :; do sleep 0.01; done) &
sleeper=$!
script='tracepoint:sched:sched_switch { @a = count(); } tracepoint:sched:sched_switch { @b = count(); }'
for mechanism in tp_btf raw perf; do
    JL_TRACEPOINT_MECHANISM=$mechanism jl -v --duration 2 -e "$script" >/tmp/gate.out 2>/tmp/gate.err ||
        fail "jl failed through $mechanism: $(cat /tmp/gate.err)"
    a=$(awk -F': ' '$1 == "@a" { print $2 }' /tmp/gate.out)
    b=$(awk -F': ' '$1 == "@b" { print $2 }' /tmp/gate.out)
    [ -n "$a" ] && [ "$a" -gt 0 ] || fail "$mechanism: no switch counted: $(cat /tmp/gate.out /tmp/gate.err)"
    [ "$a" = "$b" ] || fail "$mechanism: the two probes counted $a and $b"
    result "${mechanism}_counts" "$a/$b"
done
kill "$sleeper"
result checks passed
