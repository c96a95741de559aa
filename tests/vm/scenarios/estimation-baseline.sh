#!/bin/sh
# Baseline for jl's IPVS estimator probe: restore the IPVS rules file given as $1 (timed), then measure each
# estimation_timer walk with ftrace function_graph, hooked on that function alone (set_ftrace_filter; like
# `funcgraph -m 1 estimation_timer`) for about 7 s, i.e.
# three walks at one walk every 2 s.
#   tests/vm/gen-ipvs-rules 30000 > /tmp/rules-30000
#   tests/vm/run tests/vm/scenarios/estimation-baseline.sh /tmp/rules-30000
. /lib/jl-vm.sh

rules=${1:?usage: estimation-baseline.sh IPVS_RULES_FILE}
tracing=/sys/kernel/tracing
trace_seconds=7

result kernel "$(uname -r)"
modprobe ip_vs || fail "modprobe ip_vs failed"
modprobe ip_vs_rr || fail "modprobe ip_vs_rr failed"

start=$(now_ms)
ipvsadm -R <"$rules" || fail "ipvsadm -R <$rules failed"
result ipvs_restore_ms $(($(now_ms) - start))
result ipvs_services "$(ipvsadm -Ln | grep -c '^TCP')"

grep -qw estimation_timer /proc/kallsyms || fail "this kernel has no estimation_timer (the estimator runs in kthreads)"
[ -e "$tracing/set_graph_function" ] || fail "no function_graph tracer in $tracing"

echo 0 >"$tracing/tracing_on"
# set_ftrace_filter hooks estimation_timer alone: with set_graph_function only, function_graph hooks every kernel
# function and the walk, calling many of them, takes 2.8x longer (129 vs 46 ms median at 80 000 services, 6.1).
echo estimation_timer >"$tracing/set_ftrace_filter" || fail "cannot filter ftrace on estimation_timer"
echo estimation_timer >"$tracing/set_graph_function" || fail "cannot trace estimation_timer"
echo 1 >"$tracing/max_graph_depth"
echo function_graph >"$tracing/current_tracer"
echo >"$tracing/trace"
echo 1 >"$tracing/tracing_on"
sleep "$trace_seconds"
echo 0 >"$tracing/tracing_on"

# With max_graph_depth 1 each walk is one line: ` 1) ! 22345.67 us  |  estimation_timer();`
grep 'estimation_timer' "$tracing/trace" >/tmp/walks || true
echo nop >"$tracing/current_tracer"
echo >"$tracing/set_ftrace_filter"
echo >"$tracing/set_graph_function"
result_lines ftrace_line /tmp/walks
awk -v seconds="$trace_seconds" '
    {
        cpu = $1; sub(/\).*/, "", cpu)
        for (i = 2; i <= NF; i++) if ($(i + 1) == "us") { us = $i; break }
        walks++; sum += us; cpus[cpu] = 1
        if (walks == 1 || us < min) min = us
        if (us > max) max = us
        list = list (list == "" ? "" : " ") us
    }
    END {
        for (c in cpus) cpu_list = cpu_list (cpu_list == "" ? "" : " ") c
        printf "@@JL-RESULT walk_count=%d\n", walks
        printf "@@JL-RESULT walk_seconds_traced=%d\n", seconds
        if (walks == 0) exit 1
        printf "@@JL-RESULT walk_us=%s\n", list
        printf "@@JL-RESULT walk_us_min=%.1f\n", min
        printf "@@JL-RESULT walk_us_mean=%.1f\n", sum / walks
        printf "@@JL-RESULT walk_us_max=%.1f\n", max
        printf "@@JL-RESULT walk_cpus=%s\n", cpu_list
    }' /tmp/walks || fail "no estimation_timer walk traced in ${trace_seconds}s"
