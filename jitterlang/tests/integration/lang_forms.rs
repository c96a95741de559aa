//! bpftrace 0.27's map declarations, block expressions, `errorf()`/`warnf()`, `strftime()` values and zeroed
//! maps, run on this host: each asserts on what the kernel side reported, in bpftrace 0.27.1's bytes where it
//! prints them (checked against it from the bench chroot).

use crate::support::{run_jl, start_attached};
use jitterlang::CompileOptions;
use jitterlib::kernel::FixtureKernel;
use jitterlib::maps::MapKind;
use jitterlib::testing::can_trace;

/// Runs a `BEGIN`-only script to its end; returns its standard output and error.
fn begin(script: &str) -> (String, String) {
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{script}: {err}");
    (out, err)
}

#[test]
fn declared_maps_choose_their_type_and_size() {
    let source = "let @seen = percpulruhash(64); let @last = lruhash(16); let @n = hash(8); \
                  tracepoint:sched:sched_switch { @seen[pid] = count(); @last[cpu] = pid; @n[1] = 1; @c = count(); }";
    let compiled = jitterlang::compile_with(source, &FixtureKernel::bundled(), &CompileOptions::default())
        .unwrap_or_else(|d| panic!("{}", d.render("s", source)));
    let kind_of = |suffix: &str| {
        let map = compiled.maps.iter().find(|map| map.name.ends_with(suffix)).expect("the map");
        (map.kind, map.max_entries, map.on_insert)
    };
    assert_eq!(kind_of("_seen"), (MapKind::LruPerCpuHash, 64, true));
    assert_eq!(kind_of("_last"), (MapKind::LruHash, 16, true));
    assert_eq!(kind_of("_n"), (MapKind::Hash, 8, true));
    // An undeclared one-slot aggregation stays a per-CPU array.
    assert_eq!(kind_of("_c").0, MapKind::PerCpuArray);
}

#[test]
fn lru_maps_evict_where_hash_maps_count_map_full() {
    if !can_trace("lru_maps_evict_where_hash_maps_count_map_full") {
        return;
    }
    let (out, err) = begin("let @a = lruhash(2); BEGIN { @a[0] = 0; @a[1] = 1; @a[2] = 2; }");
    assert_eq!(out.lines().filter(|line| line.starts_with("@a[")).count(), 2, "{out}");
    assert!(out.contains("@a[2]: 2"), "the newest key is kept: {out}");
    assert!(!err.contains("map full"), "an LRU map evicts, nothing is lost: {err}");
    let (out, err) = begin("let @a = hash(1); BEGIN { @a[1] = 1; @a[2] = 2; @a[3] = 3; }");
    assert!(out.contains("@a[1]: 1") && !out.contains("@a[2]"), "{out}");
    assert!(err.contains("jl: warning: 2 map updates failed (map full"), "{err}");
    let (out, err) = begin("let @a = percpulruhash(1); BEGIN { @a[1] = count(); @a[2] = count(); }");
    assert!(out.contains("@a[2]: 1") && !out.contains("@a[1]"), "{out}");
    assert!(!err.contains("map full"), "{err}");
}

#[test]
fn errorf_and_warnf_print_where_they_were_called() {
    if !can_trace("errorf_and_warnf_print_where_they_were_called") {
        return;
    }
    let (out, err) = begin(
        "BEGIN { errorf(\"Something bad with args: %d, %s\", 10, \"arg2\"); printf(\"out\\n\"); \
         $x = 0x12345678abcdef; warnf(\"%hhx %hx %x %jx\\n\", $x, $x, $x, $x); }",
    );
    assert!(out.starts_with("out\n"), "{out}");
    assert!(err.contains("stdin:1:9-62: ERROR: Something bad with args: 10, arg2\n"), "{err}");
    assert!(err.contains("stdin:1:104-146: WARNING: ef cdef 78abcdef 12345678abcdef\n"), "{err}");
    let (code, _, err) = run_jl(&["-e", "BEGIN { warnf(\"no warn\"); errorf(\"err\"); }", "--no-warnings"]);
    assert_eq!(code, 0);
    assert!(!err.contains("no warn") && err.contains("stdin:1:27-40: ERROR: err\n"), "{err}");
    let (_, err) = begin("macro bad() { errorf(\"Something bad\"); } BEGIN { bad(); }");
    let expected = "stdin:1:15-38: ERROR: Something bad\nstdin:1:50-55: ERROR: expanded from\n\
                    macro bad() { errorf(\"Something bad\"); } BEGIN { bad(); }\n\
                    \x20                                                ~~~~~\n";
    assert!(err.contains(expected), "{err}");
}

#[test]
fn zeroed_maps_print_their_zeroes_as_bpftrace_does() {
    if !can_trace("zeroed_maps_print_their_zeroes_as_bpftrace_does") {
        return;
    }
    let script = "BEGIN { @h = lhist(2, 0, 100, 10); @c = count(); @s = sum(3); @x[1] = 3; @y = hist(4); \
                  zero(@h); zero(@c); zero(@s); zero(@x); zero(@y); @d[1] = 1; delete(@d[1]); @e = 1; clear(@e); \
                  @f[1] = 2; clear(@f); @g = stats(3); zero(@g); @a = avg(2); zero(@a); @m = min(3); zero(@m); \
                  @M = max(3); zero(@M); @k[1] = count(); zero(@k); @kh[2] = hist(3); zero(@kh); \
                  @z = count(); zero(@z); clear(@z); }";
    let (out, _) = begin(script);
    // bpftrace 0.27.1's bytes for the same script: cleared and deleted maps print nothing.
    let expected = "\n\n@M: 0\n@a: 0\n@c: 0\n@g: { .count = 0, .average = 0, .total = 0 }\n@h:\n\n@k[1]: 0\n\
                    @kh[2]:\n\n@m: 0\n@s: 0\n@x[1]: 0\n@y:\n\n";
    assert_eq!(out, expected);
}

#[test]
fn block_expressions_run_their_statements_in_their_own_scope() {
    if !can_trace("block_expressions_run_their_statements_in_their_own_scope") {
        return;
    }
    let (out, _) = begin(
        "macro side_effects(x) { x; x; x; } macro next(x) { { let $q = x; $q + 1 } } \
         BEGIN { @ = { let $a = 100; avg($a) }; $q = 10; \
         $v = { let $a = 2; $a * 3 }; let $a = 5; printf(\"%d %d %d\\n\", $v, $a, 1 + { $a * 2 }); \
         side_effects({ printf(\"hi\") }); _ = { printf(\"!\\n\"); 1 }; printf(\"%d %d\\n\", next(4), $q); }",
    );
    // A macro's block keeps its `let $q` to itself: the caller's `$q` stays 10.
    assert_eq!(out, "6 5 11\nhihihi!\n5 10\n\n\n@: 100\n");
}

#[test]
fn variables_live_until_the_end_of_the_block_that_declares_them() {
    if !can_trace("variables_live_until_the_end_of_the_block_that_declares_them") {
        return;
    }
    // bpftrace's variable_scope_late_decl.bt: `$x` of the `if` and of the loop are gone after them, so a `let $x;`
    // follows; it holds 0 until assigned. `$s` is read before its first assignment, which gives it its type.
    let (out, _) = begin(
        "BEGIN { @a[1] = 1; if (1) { $x = 1; print((\"a\", $x)); } for ($kv : @a) { $x = 2; print((\"b\", $x)); } \
         let $x; if (0) { $x = 3; } print((\"c\", $x)); let $s; if ($s == \"\") { $s = \"set\"; } print($s); \
         $v = { $t = 4; $t + 1 }; print($v); exit(); }",
    );
    assert_eq!(out, "(a, 1)\n(b, 2)\n(c, 0)\nset\n5\n\n\n@a[1]: 1\n");
}

#[test]
fn delete_says_whether_it_deleted_an_entry() {
    if !can_trace("delete_says_whether_it_deleted_an_entry") {
        return;
    }
    let (out, _) = begin(
        "BEGIN { @a[1] = 1; @b[1, 2] = 2; $x = delete(@a, 2); $y = delete(@a, 1); \
         printf(\"%d %d %d %d\\n\", $x, $y, delete(@b, (1, 2)), delete(@b, (1, 2))); exit(); }",
    );
    assert_eq!(out, "0 1 1 0\n\n\n");
}

#[test]
fn offsetof_gives_member_offsets_of_script_and_kernel_structs() {
    if !can_trace("offsetof_gives_member_offsets_of_script_and_kernel_structs") {
        return;
    }
    use jitterlib::kernel::{KernelInfo, LiveKernel};
    let kernel = LiveKernel::new();
    let offset = |name: &str, path: &str| kernel.struct_member(name, path).expect("BTF").expect("member").offset;
    let (out, _) = begin(
        "struct Foo { int x; long y; char c[3]; int z; } BEGIN { printf(\"%d %d %d\\n\", offsetof(struct Foo, y), \
         offsetof(struct Foo, z), offsetof(struct task_struct, pid)); print(offsetof(struct task_struct, se.vruntime)); \
         exit(); }",
    );
    let expected = format!("8 20 {}\n{}\n", offset("task_struct", "pid"), offset("task_struct", "se.vruntime"));
    assert!(out.starts_with(&expected), "{out}");
}

#[test]
fn reads_through_a_syscall_s_user_pointers_use_the_user_helper() {
    if !can_trace("reads_through_a_syscall_s_user_pointers_use_the_user_helper") {
        return;
    }
    // `args.argv` and its elements are user addresses: read with bpf_probe_read_kernel they gave zeros (an empty
    // string) on this SMAP host.
    let (code, out, err) = run_jl(&[
        "--unsafe",
        "-e",
        "interval:ms:10 { system(\"/bin/true jl_user_pointer_arg\"); } \
         tracepoint:syscalls:sys_enter_execve /str(args.filename) == \"/bin/true\"/ { \
         $argv = (uint64 *)args.argv; printf(\"%s\\n\", str(*($argv + 1))); exit(); }",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("jl_user_pointer_arg\n"), "{out}");
}

#[test]
fn join_prints_a_syscall_s_argv_on_one_line() {
    if !can_trace("join_prints_a_syscall_s_argv_on_one_line") {
        return;
    }
    // 18 arguments: join() stops at 16, as bpftrace's; the separator may hold `%`.
    let (code, out, err) = run_jl(&[
        "--unsafe",
        "-e",
        "interval:ms:10 { system(\"/bin/true a1 b2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\"); } \
         tracepoint:syscalls:sys_enter_execve /str(args.filename) == \"/bin/true\"/ { \
         join(args.argv); join(args.argv, \"%,\"); exit(); }",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("/bin/true a1 b2 3 4 5 6 7 8 9 10 11 12 13 14 15\n/bin/true%,a1%,b2%,3%,4%,5%,6%,7%,8%,9%,10%,11%,12%,13%,14%,15\n"),
        "{out}"
    );
}

#[test]
fn join_s_lines_stay_whole_when_two_cpus_exec_at_once() {
    if !can_trace("join_s_lines_stay_whole_when_two_cpus_exec_at_once") {
        return;
    }
    // One event per join(): two shells exec 200 times each at once (both CPUs); no line mixes their words.
    // `/usr/bin/test` (of coreutils), as other tests trace `/bin/true`.
    let loop_of = |words: &str| format!("for i in $(seq 200); do /usr/bin/test {words}; done");
    let command = format!("sh -c '({}) & ({}) & wait'", loop_of("a1 a2 a3 a4 a5 a6"), loop_of("b1 b2 b3 b4 b5 b6"));
    let (code, out, err) = run_jl(&[
        "-c",
        &command,
        "-e",
        "tracepoint:syscalls:sys_enter_execve /str(args.filename) == \"/usr/bin/test\"/ { join(args.argv); }",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().filter(|line| line.contains("1 ")).collect();
    assert_eq!(lines.len(), 400, "{out}");
    for line in lines {
        let whole = ["/usr/bin/test a1 a2 a3 a4 a5 a6", "/usr/bin/test b1 b2 b3 b4 b5 b6"];
        assert!(whole.contains(&line), "{line:?} in\n{out}");
    }
    assert!(!err.contains("lost"), "{err}");
}

#[test]
fn a_record_written_in_another_field_order_takes_the_variable_s() {
    if !can_trace("a_record_written_in_another_field_order_takes_the_variable_s") {
        return;
    }
    // bpftrace's record evaluation order test: the values run as written, the fields print as first declared.
    let (out, _) = begin(
        "BEGIN { $a = (foo={ printf(\"hello\"); 1 }, bar={ printf(\"world\"); 2 }); \
         $a = (bar={ printf(\"hello\"); 1 }, foo={ printf(\"world\\n\"); 2 }); print($a); \
         $b = (x=1, y=\"ab\"); $b = (y=\"abcdef\", x=3); print($b); exit(); }",
    );
    assert_eq!(out, "helloworldhelloworld\n{ .foo = 2, .bar = 1 }\n{ .x = 3, .y = abcdef }\n\n\n");
}

#[test]
fn casts_take_c_and_kernel_integer_names() {
    if !can_trace("casts_take_c_and_kernel_integer_names") {
        return;
    }
    // bpftrace's btf.vmlinux integer types, printed.
    let (out, _) = begin(
        "BEGIN { let $a: typeof(size_t) = 1; let $b: typeof(size_t*) = &$a; $c = (uint64_t)1; $d = (char)1; \
         $e = (char *)&$d; print(($a, *$b, $c, $d, *$e, (u32)-1, (__s16)70000, (int)-1, (uint8_t)300)); exit(); }",
    );
    assert_eq!(out, "(1, 1, 1, 1, 1, 4294967295, 4464, -1, 44)\n\n\n");
}

#[test]
fn struct_attributes_pack_and_align_the_layout() {
    if !can_trace("struct_attributes_pack_and_align_the_layout") {
        return;
    }
    // bpftrace's struct.struct with attribute (and comment), and an alignment that grows the size.
    let (out, _) = begin(
        "struct foo { int x; char y; int z; } struct bar { int x; char y; int z; } /**/ __attribute__ /**/ ((packed)) \
         struct bar2 { int x; char y; int z; } __attribute__((packed)) __attribute__((aligned(1))) \
         struct big { char y; } __attribute__((aligned(16), packed)) \
         BEGIN { print((sizeof(struct foo), sizeof(struct bar), sizeof(struct bar2), offsetof(struct bar, z), \
         sizeof(struct big))); exit(); }",
    );
    assert_eq!(out, "(12, 9, 9, 5, 16)\n\n\n");
    // A struct defined inside another (bpftrace's builtin.offsetof) is defined too.
    let (out, _) = begin(
        "struct Foo { char c; struct Bar { long x; int y; } bar[2]; int z; } BEGIN { print((sizeof(struct Bar), \
         offsetof(struct Foo, bar), offsetof(struct Foo, z), sizeof(struct Foo))); exit(); }",
    );
    assert_eq!(out, "(16, 8, 40, 48)\n\n\n");
}

#[test]
fn assert_fails_the_script_with_its_message() {
    if !can_trace("assert_fails_the_script_with_its_message") {
        return;
    }
    let (code, _, err) = run_jl(&["-e", "BEGIN { assert(false, \"My error message\"); }"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("stdin:1:9-42: ERROR: assert failed: My error message"), "{err}");
    let (out, _) = begin("BEGIN { $n = 2; assert($n == 2, \"no\"); printf(\"ok\\n\"); exit(); }");
    assert_eq!(out, "ok\n\n\n");
}

#[test]
fn deref_of_a_variable_s_address_is_its_value() {
    if !can_trace("deref_of_a_variable_s_address_is_its_value") {
        return;
    }
    let (out, _) = begin(
        "BEGIN { $a = (1, \"hello\", 2); print(*(&$a)); $s = \"str\"; print(*&$s); $i = 5; print(*&$i); exit(); }",
    );
    assert_eq!(out, "(1, hello, 2)\nstr\n5\n\n\n");
}

#[test]
fn casts_to_pointers_to_a_macro_s_type_parameter() {
    if !can_trace("casts_to_pointers_to_a_macro_s_type_parameter") {
        return;
    }
    let (out, _) = begin(
        "macro rd(t, p) { *(t *)p } macro cst(a) { (a*)-1 } BEGIN { $x = 258; \
         print((rd(typeof(uint8), &$x), rd(typeof(uint16), &$x), cst(typeof(uint8)))); \
         print(((uint16 *)(int16)((int64)cpu - (int64)cpu - 2), (uint8 *)-200, (uint64 *)-1)); exit(); }",
    );
    // bpftrace 0.27.1 printed the same: a narrower negative integer (a 1-byte literal -1, a 2-byte -200, an
    // int16 cast made by the kernel at run time) becomes an address zero-extended.
    assert_eq!(out, "(2, 258, 0xff)\n(0xfffe, 0xff38, 0xff)\n\n\n");
}

#[test]
fn a_macro_named_as_a_builtin_takes_only_calls_of_its_arity() {
    if !can_trace("a_macro_named_as_a_builtin_takes_only_calls_of_its_arity") {
        return;
    }
    // bpftrace's macro.user macros don't override stdlib if different signature: `cpu("hi")` is the macro,
    // `cpu()` still the builtin (the CPU BEGIN ran on, below the number of CPUs).
    let (out, _) =
        begin("macro cpu(x) { x } BEGIN { print(cpu(\"hi\")); printf(\"%d %d\\n\", cpu(), ncpus); exit(); }");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("hi"), "{out}");
    let numbers: Vec<u64> =
        lines.next().expect("the printf line").split(' ').map(|n| n.parse().expect("a number")).collect();
    assert!(numbers[0] < numbers[1], "{out}");
}

#[test]
fn strftime_values_print_with_their_format() {
    if !can_trace("strftime_values_print_with_their_format") {
        return;
    }
    let (out, _) = begin(
        "BEGIN { $t = strftime(\"%s.%f\", 1000123000); $u = (strftime(\"%s.%f\", 0), 7); \
         printf(\"%s %s\\n\", $t, $u.0); print($u); }",
    );
    let mut lines = out.lines();
    let first = lines.next().expect("the printf line");
    let times: Vec<f64> = first.split(' ').map(|time| time.parse().expect("seconds.micros")).collect();
    assert!(((times[0] - times[1]) - 1.000123).abs() < 1e-6, "{first}");
    let tuple = lines.next().expect("the print line");
    assert_eq!(tuple, format!("({}, 7)", first.split(' ').nth(1).unwrap_or_default()));
}

/// Aggregations read in a probe (and in a loop over them) are their values merged across every CPU, as user
/// space merges them at exit:
/// the thread that makes the syscalls runs on CPU 0, then on CPU 1, and the probe that reads the maps runs on
/// CPU 1 (read on one CPU only, the count would be 3, the min -1, the mean 4). Each value the kernel side printed
/// must equal what jl prints at exit.
#[test]
fn aggregations_read_in_a_probe_merge_every_cpu() {
    if !can_trace("aggregations_read_in_a_probe_merge_every_cpu") {
        return;
    }
    let output = std::thread::spawn(|| {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        let script = format!(
            "tracepoint:syscalls:sys_enter_getpgid /tid == {tid}/ {{ $p = (int32)args.pid; @c = count(); @s = sum($p); \
             @lo = min($p); @hi = max($p); @mean = avg($p); @k[$p > 0] = count(); }} \
             tracepoint:syscalls:sys_enter_getsid /tid == {tid}/ {{ printf(\"%d %d %d %d %d %d %d\\n\", @c, @s, @lo, \
             @hi, @mean, @k[true], (uint64)@k[false] + 100); for ($kv : @k) {{ printf(\"%s=%d\\n\", $kv.0, $kv.1); }} \
             exit(); }}"
        );
        let child = start_attached(&["-e", &script]);
        for (cpu, pids) in [(0, &[-70, 3][..]), (1, &[10, 4, -1][..])] {
            crate::raw_bpf::pin_to(cpu);
            for pid in pids {
                // SAFETY: getpgid of any number only reads; most of these fail with ESRCH, which is fine.
                unsafe { libc::getpgid(*pid) };
            }
        }
        // SAFETY: as above.
        unsafe { libc::getsid(0) };
        child.wait_with_output().expect("jl ends")
    })
    .join()
    .expect("the test thread ran");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{out}");
    assert!(out.starts_with("5 -54 -70 10 -10 3 102\n"), "{out}");
    // A loop over the map sees each entry's values merged too (the kernel's order of the entries).
    assert!(out.contains("true=3\n") && out.contains("false=2\n"), "{out}");
    for line in ["@c: 5", "@s: -54", "@lo: -70", "@hi: 10", "@mean: -10", "@k[true]: 3", "@k[false]: 2"] {
        assert!(out.lines().any(|l| l == line), "{line} at exit: {out}");
    }
}

#[test]
fn aggregation_reads_name_the_kernel_they_need() {
    // bpf_map_lookup_percpu_elem came with Linux 5.19: compiled for 5.15, a read of an aggregation says so.
    let kernel = FixtureKernel::bundled().with_release("5.15.0-100-generic");
    let script = "tracepoint:sched:sched_process_fork { @n = count(); if (@n > 3) { exit(); } }";
    let error = jitterlang::compile_with(script, &kernel, &CompileOptions::default()).expect_err("no helper on 5.15");
    let text = error.render("read.bt", script);
    assert!(
        text.contains("reading `@n` in a probe needs bpf_map_lookup_percpu_elem (Linux 5.19); this kernel is 5.15.0"),
        "{text}"
    );
    let kernel = FixtureKernel::bundled().with_release("5.19.0");
    assert!(jitterlang::compile_with(script, &kernel, &CompileOptions::default()).is_ok());
}

/// bpftrace 0.27's array-style tuple access and typed `let`, each script checked against bpftrace 0.27.1
/// (tests/compat/tuple_index.bt, typed_let.bt). `$t[i]` is `$t.i`, the index folded from constants, also of an
/// element and of a tuple read from a map. `let $x: T = v` holds v as a T, `let $y: T;` is a zero of T until
/// assigned, `let $p: struct task_struct *;` takes curtask, and a macro's `typeof(x)` its argument's type.
#[test]
fn tuple_indexes_and_typed_lets_print_as_bpftrace_does() {
    if !can_trace("tuple_indexes_and_typed_lets_print_as_bpftrace_does") {
        return;
    }
    let cases = [
        (
            "BEGIN { $a = (1, 2, 3); $b = ((int8)-1, (\"x\", 5)); @m = (7, \"y\"); \
             printf(\"%d %d %d %s %d %s\\n\", $a[1 + 1], $a[0], $b[0], $b[1][0], $b[1][1 << 0], @m.1); exit(); }",
            "3 1 -1 x 5 y\n",
        ),
        (
            "macro add(x) { let $y: typeof(x); if (true) { $y = 1 } x + $y } \
             BEGIN { let $x: uint8 = 200; let $z: int16; let $f: struct task_struct *; $f = curtask; \
             printf(\"%d %d %d %d\\n\", $x, $z, add(1), $f->pid == pid); exit(); }",
            "200 0 2 1\n",
        ),
    ];
    for (script, expected) in cases {
        let (out, _) = begin(script);
        assert!(out.starts_with(expected), "{script}: {out}");
    }
}

#[test]
fn char_pointer_members_print_as_addresses() {
    if !can_trace("char_pointer_members_print_as_addresses") {
        return;
    }
    // `linux_binprm.filename` is a `const char *`: an address, printed in hex as bpftrace 0.27.1 prints it (jl
    // printed it in decimal), whose string `str()` reads.
    let script = "rawtracepoint:sched_process_exec /str(args.bprm->filename) == \"/bin/true\"/ { \
                  print(args.bprm->filename); printf(\"%s\\n\", str(args.bprm->filename)); exit(); }";
    let child = start_attached(&["-e", script]);
    for _ in 0..3 {
        std::process::Command::new("/bin/true").status().expect("run /bin/true");
    }
    let output = child.wait_with_output().expect("jl ends");
    let out = String::from_utf8_lossy(&output.stdout);
    let mut lines = out.lines();
    let address = lines.next().unwrap_or_default();
    assert!(
        address.starts_with("0xffff") && address[2..].chars().all(|c| c.is_ascii_hexdigit()),
        "a kernel address in hex: {out}"
    );
    assert_eq!(lines.next(), Some("/bin/true"), "{out}");
}

#[test]
fn if_expressions_bare_conditions_and_positional_forms_run_as_in_bpftrace() {
    if !can_trace("if_expressions_bare_conditions_and_positional_forms_run_as_in_bpftrace") {
        return;
    }
    // bpftrace 0.27.1 prints the same lines for each (checked from the bench chroot).
    let cases: [(&[&str], &str); 10] = [
        (
            &["-e", "BEGIN { $x = 1; $y = 0; print(if ($x) { if ($y) { 10 } else { 20 } } else { 30 }); \
                     $w = if ($x == 2) { 7 } else if ($x == 1) { 8 } else { 9 }; print($w); }"],
            "20\n8\n",
        ),
        (
            &["-e", "BEGIN { @a[1] = 5; if 1 { printf(\"bare\\n\"); } for $kv : @a { print($kv.1); } \
                     for $i : 0..2 { print($i); } clear(@a); }"],
            "bare\n5\n0\n1\n",
        ),
        (&["-e", "BEGIN { $a = 1; unroll ($1) { $a = $a + 1; } printf(\"a=%d\\n\", $a); }", "10"], "a=11\n"),
        (&["-e", "BEG$1 { printf(\"begin\\n\"); }", "IN"], "begin\n"),
        (&["-e", "BEGIN { $x = 1; $a = $x ?: 10; $b = 0 ?: 20; print(($a, $b)); }"], "(1, 20)\n"),
        (&["-e", "$1 { printf(\"tick\\n\"); exit(); }", "interval:ms:1"], "tick\n"),
        (&["-e", "interval:ms:$1 { printf(\"%s\\n\", nsecs > 0 ? \"yes\" : \"no\"); nsecs ? printf(\"side\\n\") : printf(\"other\\n\"); 1; exit(); }", "1"], "yes\nside\n"),
        // An argument that is not a number is a string: alone, cut by `str($1, n)`, or past `k` bytes by `$1 + k`.
        (&["-e", "BEGIN { print(($1, $2)); }", "pos1", "20"], "(pos1, 20)\n"),
        (
            &["-e", "BEGIN { $x = str($1, 5); printf(\"%s %d\\n\", $x, $x == \"hello\"); }", "hello"],
            "hell 0\n",
        ),
        (&["-e", "BEGIN { printf(\"%s\\n\", str($1 + 1)); }", "hello"], "ello\n"),
    ];
    for (args, expected) in cases {
        let (code, out, err) = run_jl(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(out.starts_with(expected), "{args:?}: {out}");
    }
    let (_, _, err) = run_jl(cases[6].0);
    assert!(err.contains("warning[E0300]: this expression is computed and then thrown away"), "{err}");
}

#[test]
fn strings_in_variables_tuples_and_maps_widen_to_the_longest() {
    if !can_trace("strings_in_variables_tuples_and_maps_widen_to_the_longest") {
        return;
    }
    // bpftrace 0.27.1's own tests (variable, map and key tuple string resize, ternary_tuple) and a loop that reads
    // the variable before the longer string is written: the lines bpftrace prints.
    let cases = [
        ("BEGIN { @[1] = (\"hi\", 1); @[1] = (\"hellolongstr\", 2); @[1] = (\"by\", 3); }", "@[1]: (by, 3)\n"),
        (
            "BEGIN { @[\"hi\", (\"hellolongstr\", 2)] = 1; @[\"hellolongstr\", (\"hi\", 5)] = 2; }",
            "@[hi, (hellolongstr, 2)]: 1\n@[hellolongstr, (hi, 5)]: 2\n",
        ),
        (
            "BEGIN { $a = (\"hi\", (\"hellolongstr\", 2)); print($a); $a = (\"hellolongstr\", (\"hi\", 5)); print($a); }",
            "(hi, (hellolongstr, 2))\n(hellolongstr, (hi, 5))\n",
        ),
        (
            "BEGIN { $s = \"a\"; unroll(2) { print($s); $s = \"a longer string\"; } print((\"x\", $s)); \
             $t = (\"hi\", 1); $t = nsecs > 0 ? (\"hellolongstr\", 2) : $t; print($t); }",
            "a\na longer string\n(x, a longer string)\n(hellolongstr, 2)\n",
        ),
    ];
    for (script, expected) in cases {
        let (out, _) = begin(script);
        let printed: String = out.lines().filter(|line| !line.is_empty()).map(|line| format!("{line}\n")).collect();
        assert_eq!(printed, expected, "{script}");
    }
}

#[test]
fn strings_index_to_their_bytes() {
    if !can_trace("strings_index_to_their_bytes") {
        return;
    }
    // bpftrace 0.27.1 prints the first three lines; past the end jl reads 0 (bpftrace reads whatever follows).
    let (out, _) = begin(
        "BEGIN { $a = \"foo\"; printf(\"%c is the first letter\\n\", $a[0]); $j = 1; print($a[$j]); \
         print(\"xyz\"[2]); $i = (uint64)10; print($a[$i]); }",
    );
    assert!(out.starts_with("f is the first letter\n111\n122\n0\n"), "{out}");
}

#[test]
fn variable_addresses_read_back_through_pointers() {
    if !can_trace("variable_addresses_read_back_through_pointers") {
        return;
    }
    // bpftrace 0.27.1 prints the same lines (its address differs: a kernel stack address in both).
    let (out, _) = begin(
        "BEGIN { $a = 1; $b = &$a; print(($b, *$b)); $a = 5; printf(\"%d %d\\n\", *$b, $a & 4); \
         $s = \"hello\"; $p = (int8 *)&$s; printf(\"%c %c\\n\", *$p, *($p + 1)); }",
    );
    let mut lines = out.lines();
    let first = lines.next().unwrap_or_default();
    assert!(first.starts_with("(0xffff") && first.ends_with(", 1)"), "{out}");
    assert_eq!(lines.next(), Some("5 4"), "{out}");
    assert_eq!(lines.next(), Some("h e"), "{out}");
}

#[test]
fn return_in_a_map_loop_leaves_the_probe() {
    if !can_trace("return_in_a_map_loop_leaves_the_probe") {
        return;
    }
    // bpftrace 0.27.1's test (`for.map with return`): `bar`, and no `end`; a `return` not reached lets the probe
    // go on; one in a nested loop leaves both loops and the probe.
    let (out, _) = begin(
        "BEGIN { @map[\"foo\"] = 1; @map[\"bar\"] = 2; for ($i : @map) { if ($i.0 == \"bar\") { print($i.0); \
         return; } } print(\"end\"); }",
    );
    assert!(out.starts_with("bar\n") && !out.contains("end"), "{out}");
    let (out, _) = begin("BEGIN { @a[1] = 1; for ($i : @a) { if ($i.0 == 5) { return; } } print(\"end\"); }");
    assert!(out.starts_with("end\n"), "{out}");
    let (out, _) = begin(
        "BEGIN { @a[1] = 1; @b[1] = 1; for ($i : @a) { for ($j : @b) { print(\"inner\"); return; } \
         print(\"outer\"); } print(\"end\"); }",
    );
    assert!(out.starts_with("inner\n") && !out.contains("outer") && !out.contains("end"), "{out}");
}
