#!/bin/sh
# bpftrace 0.27's macro, enum, pointer casts and strcontains() on a real kernel (run it with --kernel 5.10 for the
# oldest verifier): each golden script of them passes the verifier (jl --dry-run), then a live strcontains() run
# must find a needle in the file name `cat` opens. Needs /bin/jl; the golden scripts come as FILES:
#   tests/vm/run --kernel 5.10 --jl target/release/jl tests/vm/scenarios/declarations.sh \
#       tests/golden/{macro,enum_constants,pointer_cast,strcontains}.jl
. /lib/jl-vm.sh

result kernel "$(uname -r)"
[ -x /bin/jl ] || fail "no /bin/jl in the image: pass --jl target/release/jl"

verified=0
for script in "$@"; do
    name=$(basename "$script" .jl)
    /bin/jl --dry-run "$script" >/tmp/dry.out 2>&1 || {
        result_lines "dry_run_$name" /tmp/dry.out
        fail "the verifier rejects $name"
    }
    verified=$((verified + 1))
done
result verified "$verified"

start_jl 20 'macro has(s, n) { strcontains(s, n) }
tracepoint:syscalls:sys_enter_openat /has(str(args.filename), "jl_needle_vm")/ {
  printf("%d %d\n", has(str(args.filename), "needle_vm/x"), has(str(args.filename), "needle_vmx"));
  exit(); }'
cat /nonexistent/jl_needle_vm/x 2>/dev/null
finish_jl
[ "$(head -n 1 /tmp/jl.out 2>/dev/null)" = "1 0" ] || fail "strcontains() found the wrong needles"
result checks passed
