#!/bin/sh
# Syscall events on a real kernel, on raw_syscalls (the default: an event alone in its direction compares the
# number in its own program) and on their perf-event tracepoints (JL_TRACEPOINT_MECHANISM=perf): dd's 37 writes of
# 1234 bytes (args read from pt_regs) and its 37 reads returning 1234 (ret), and jl -v naming the mechanism; then two events and a wildcard chained on getppid's entry
# and one on its exit, counting the getppid calls of 20 shells (busybox sh reads $PPID at start). Needs /bin/jl:
#   tests/vm/run --kernel 5.10 --jl target/release/jl tests/vm/scenarios/syscalls.sh
# Exact on 5.10, 6.1 and 6.12 (tests/vm/test-syscalls runs it on 5.10 and 6.1). The 6.1 guest undercounted until
# comm was zeroed before bpf_get_current_comm (6.1 leaves stack garbage after the NUL, so `comm == "dd"` failed).
. /lib/jl-vm.sh

result kernel "$(uname -r)"
[ -x /bin/jl ] || fail "no /bin/jl in the image: pass --jl target/release/jl"

# count NAME: the value of `@NAME: N` in jl's text output (0 when absent).
count() {
    awk -F': ' -v name="@$1" '$1 == name { print $2; found = 1 } END { if (!found) print 0 }' /tmp/jl.out
}

for mechanism in perf raw; do
    export JL_TRACEPOINT_MECHANISM=$mechanism
    start_jl 60 "tracepoint:syscalls:sys_enter_write /comm == \"dd\" && args.count == 1234/ { @${mechanism}_write = count(); }
tracepoint:syscalls:sys_exit_read /comm == \"dd\" && args.ret == 1234/ { @${mechanism}_read = count(); }" -v ||
        fail "jl did not attach"
    dd if=/dev/zero of=/dev/null bs=1234 count=37 2>/dev/null || fail "dd failed"
    # Stopped once dd is done: a --duration counts from jl's start, and attaching can take seconds under TCG.
    kill -INT "$jl_pid"
    finish_jl
    # Each alone in its direction: its own program on raw_syscalls compares the number (no dispatcher).
    said='sys_enter_write: raw tracepoint raw_syscalls:sys_enter, syscall number 1 (x86-64), compared in its own program'
    [ "$mechanism" = raw ] || said='sys_exit_read uses a perf-event tracepoint; raw tracepoints not used'
    grep -q "$said" /tmp/jl.err || fail "jl -v does not say '$said'"
    for probe in write read; do
        n=$(count "${mechanism}_$probe")
        result "${mechanism}_syscall_${probe}_count" "$n"
        [ "$n" -eq 37 ] || fail "sys_*_$probe on $mechanism saw $n calls of dd's 37"
    done
done
unset JL_TRACEPOINT_MECHANISM

shells=20
start_jl 60 'tracepoint:syscalls:sys_enter_getppid /comm == "sh"/ { @first = count(); }
tracepoint:syscalls:sys_enter_getppid /comm == "sh"/ { @second[args.__syscall_nr] = count(); }
tracepoint:syscalls:sys_exit_getppid /comm == "sh"/ { @ret_positive[args.ret > 0] = count(); }
tracepoint:syscalls:sys_enter_getp* /comm == "sh"/ { @wild[probe] = count(); }' -v || fail "jl did not attach"
i=0
while [ "$i" -lt "$shells" ]; do
    sh -c : || fail "sh failed"
    i=$((i + 1))
done
kill -INT "$jl_pid"
finish_jl
first=$(count first)
result chained_first "$first"
result chained_second "$(count 'second[110]')"
result chained_ret_positive "$(count 'ret_positive[true]')"
result chained_wild_getppid "$(count 'wild[tracepoint:syscalls:sys_enter_getppid]')"
[ "$first" -ge "$shells" ] || fail "@first counted $first getppid calls for $shells shells"
grep -q 'one dispatcher program on raw_syscalls:sys_enter serves' /tmp/jl.err ||
    fail "jl -v does not say a dispatcher serves the sys_enter events"
grep -q 'uses a perf-event tracepoint' /tmp/jl.err && fail "an event fell back to a perf-event tracepoint"

result checks passed
