#!/bin/sh
# User-space probes on a real kernel: uprobe, uretprobe and usdt (arguments, two sites, a semaphore the kernel
# counts) on tests/programs/usdt_target.c built static, passed as the scenario's file. Needs /bin/jl.
#   tests/vm/run --kernel 5.10 --jl target/release/jl tests/vm/scenarios/uprobes.sh /tmp/usdt_target
. /lib/jl-vm.sh

result kernel "$(uname -r)"
[ -x /bin/jl ] || fail "no /bin/jl in the image: pass --jl target/release/jl"
[ -e /sys/bus/event_source/devices/uprobe/type ] || fail "this kernel has no uprobe PMU"
[ -f "$1" ] || fail "no target program: pass the static usdt_target as the scenario's file"
target=/tmp/usdt_target
cp "$1" "$target" && chmod 0755 "$target" || fail "cannot install the target program"

script="uprobe:$target:work { @uprobe[arg0] = count(); }
uretprobe:$target:work { @uretprobe = count(); }
usdt:$target:jl:tick { @tick[arg0, arg1, str(arg2)] = count(); }
usdt:$target:wide { @wide[arg1, arg2, arg3] = count(); }
usdt:$target:jl:guarded { @guarded = count(); }"
start_jl 8 "$script" -v || fail "jl did not attach"
# Two requests, three calls of work() each (i = 1, 2, 3); the replies end with jl:guarded's semaphore.
printf 'alpha\nbeta\n' | "$target" 3 >/tmp/target.out || fail "the target program failed"
finish_jl
result_lines target_output /tmp/target.out

# count NAME: the value of `NAME: N` in jl's text output (0 when absent).
count() {
    awk -F': ' -v name="$1" '$1 == name { print $2; found = 1 } END { if (!found) print 0 }' /tmp/jl.out
}
result uprobe_count "$(count '@uprobe[1]')/$(count '@uprobe[2]')/$(count '@uprobe[3]')"
result uretprobe_count "$(count @uretprobe)"
result tick_count "$(count '@tick[2, -2, alpha]')/$(count '@tick[3, -3, beta]')"
result wide_count "$(count '@wide[-7, 42, 201]')/$(count '@wide[-21, 42, 203]')"
result guarded_count "$(count @guarded)"
result semaphore_while_attached "$(awk 'NR > 1 { print $3 }' /tmp/target.out | sort -u | xargs)"
grep -q 'jl:guarded: has a semaphore at 0x.*which the kernel increments' /tmp/jl.err ||
    fail "jl -v does not say it counts the semaphore"
result checks passed
