#!/bin/sh
# The builtins kstack(N), ustack, buf(), ntop(af, addr), join() and write_user() on a real kernel: each golden script of them passes the
# verifier (jl --dry-run), then one live run checks what they report for context switches, writes of known bytes
# and a TCP connection over loopback, with software: counters, zero() and clear() (batched deletes) alongside.
# Needs /bin/jl; the golden scripts come as FILES (tests/vm/test-builtins).
# (On 6.1, syscall tracepoints have no kernel stack: kstack there is empty, hence sched_switch.)
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

# `echo` writes its 12 bytes to fd 1 (the shell redirects with dup2), so the writes are told apart by their length.
script='tracepoint:syscalls:sys_enter_write /args.count == 12/ { @u[ustack(4)] = count();
  @b[buf(args.buf, 4)] = count(); printf("%r\n", buf(args.buf, 2)); }
tracepoint:sched:sched_switch { @k[kstack(3)] = count(); }
tracepoint:sock:inet_sock_set_state { @v4[ntop(args.family, args.saddr)] = count(); @v6[ntop(args.family, args.saddr_v6)] = count();
  @bytes[buf(args.saddr)] = count(); }
profile:hz:99 { @p[cpu] = count(); }
tracepoint:syscalls:sys_enter_write /args.count == 1234/ { @dd[comm] = count(); }
tracepoint:syscalls:sys_enter_execve { join(args.argv, ","); }
software:page-faults:1 { @pf++; }
BEGIN { @z[1] = 5; @z[2] = 6; zero(@z); @gone[1] = 1; @gone[2] = 2; clear(@gone); }'
start_jl 6 "$script" || fail "jl did not attach: $(cat /tmp/jl.err)"
for _ in 1 2 3; do echo abcdefghijk; done >/dev/null
dd if=/dev/zero of=/dev/null bs=1234 count=37 2>/dev/null
busybox nc -l -p 5007 >/dev/null 2>&1 &
sleep 0.3
echo hello | busybox nc 127.0.0.1 5007 >/dev/null 2>&1
finish_jl
grep -q '^@b\[abcd\]: 3$' /tmp/jl.out || fail "buf() did not read the 4 bytes written 3 times"
[ "$(grep -c '^ab$' /tmp/jl.out)" = 3 ] || fail "printf %r did not print the first 2 bytes 3 times"
# Every @k key has at most 3 frames, and some have 3.
awk '/^@k\[$/ { frames = 0; inside = 1; next }
     inside && /^\]: / { if (frames == 3) three = 1; if (frames > 3) more = 1; inside = 0; next }
     inside { frames++ }
     END { exit !(three && !more) }' /tmp/jl.out || fail "kstack(3) keys do not hold 3 frames"
grep -q '^@u\[$' /tmp/jl.out || fail "no user stack key"
grep -q '^@v4\[127.0.0.1\]' /tmp/jl.out || fail "ntop(args.family, args.saddr) did not print 127.0.0.1"
grep -q '^@bytes\[\\x7f\\x00\\x00\\x01\]' /tmp/jl.out || fail "buf(args.saddr) did not print the 4 address bytes"
# One key for dd's 37 writes: 6.1's bpf_get_current_comm leaves the bytes after the NUL as they were, and a comm
# not zeroed first gave keys that differed in stack garbage (`@dd[dd]` 5 to 29 times).
[ "$(grep -c '^@dd\[' /tmp/jl.out)" = 1 ] && grep -q '^@dd\[dd\]: 37$' /tmp/jl.out ||
    fail "@dd[comm] did not count dd's 37 writes under one key"
# join(): the whole argv of each busybox exec on one line (one ring-buffer record, read in a bounded loop).
grep -q "^[^ ]*busybox,nc,127.0.0.1,5007$" /tmp/jl.out || fail "join(args.argv) did not print busybox nc's argv"
grep -q '^@pf: [1-9]' /tmp/jl.out || fail "software:page-faults:1 counted nothing"
[ "$(grep -c '^@z\[[12]\]: 0$' /tmp/jl.out)" = 2 ] || fail "zero() did not keep both keys at 0"
! grep -q '^@gone' /tmp/jl.out || fail "clear() left keys"
# write_user() (--unsafe) on a kernel that is not locked down (this host's is): the path cat opens, in cat's own
# memory, is overwritten (with its NUL) before the kernel reads it. cat writes to a file of its own: busybox cat
# copies with sendfile(), which moves the file offset without the lock write() takes, so sharing jl's output
# file, its bytes and jl's printf could land on each other.
echo asked >/tmp/wu-asked
echo given >/tmp/wu-given
/bin/jl --unsafe -c 'cat /tmp/wu-asked >/tmp/wu-cat.out' -e 'tracepoint:syscalls:sys_enter_openat
  /str(args.filename) == "/tmp/wu-asked"/ {
    printf("written: %d\n", write_user(args.filename, "/tmp/wu-given", 14)); }' >/tmp/wu.out 2>/tmp/wu.err ||
    { result_lines write_user_err /tmp/wu.err; fail "jl --unsafe with write_user() failed"; }
result_lines write_user /tmp/wu.out
result_lines write_user_cat /tmp/wu-cat.out
grep -q '^written: 1$' /tmp/wu.out || fail "write_user() did not report writing the 14 bytes"
[ "$(cat /tmp/wu-cat.out)" = given ] || fail "write_user() did not make cat open the other file"
# Keyed maps are preallocated (BPF_F_NO_PREALLOC only past a 32 MiB budget, from 6.1), perf_event programs' maps
# too: the kernel takes them without a warning (run-time allocated ones WARN "trace type BPF program uses
# run-time allocation" before 6.1).
grep -q '^@p\[0\]: [1-9]' /tmp/jl.out || fail "profile:hz:99 did not count into its hash map"
if dmesg | grep -E 'WARNING:|run-time allocation|Call Trace' >/tmp/dmesg.warn; then
    result_lines dmesg /tmp/dmesg.warn
    fail "the kernel warned while the scenario ran"
fi
result checks passed
