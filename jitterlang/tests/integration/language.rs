//! Language constructs end to end: compiled with script arguments, loaded by the kernel's verifier, run, and
//! checked against what the kernel reported.

use crate::support::run_jl;
use crate::support::start_attached;
use jitterlang::CompileOptions;
use jitterlib::kernel::FixtureKernel;
use jitterlib::testing::can_trace;
use std::process::Command;

#[test]
fn positional_arguments_become_constants() {
    let kernel = FixtureKernel::bundled();
    let options = |args: &[&str]| CompileOptions {
        args: args.iter().map(|arg| arg.to_string()).collect(),
        ..CompileOptions::default()
    };
    let compiled = jitterlang::compile_with(
        "BEGIN { @n = $1 + $#; @s = str($2); @missing = $3; }",
        &kernel,
        &options(&["300", "sshd"]),
    )
    .expect("compiles");
    let text = compiled.disassembly();
    assert!(text.contains("r7 = 300") && text.contains("r7 += 2"), "$1 + $# are the constants 300 and 2:\n{text}");
    assert!(text.contains(&format!("= {}", u32::from_le_bytes(*b"sshd"))), "str($2) is the literal \"sshd\":\n{text}");
    // A word is a string, as in bpftrace 0.27: a value as it is, not a number in arithmetic.
    let word = jitterlang::compile_with("BEGIN { @s = $1; }", &kernel, &options(&["sshd"])).expect("a string");
    assert!(word.disassembly().contains(&format!("= {}", u32::from_le_bytes(*b"sshd"))), "$1 is \"sshd\"");
    let error = jitterlang::compile_with("BEGIN { @n = $1 + 1; }", &kernel, &options(&["sshd"]))
        .expect_err("a word is not an integer")
        .render("t", "BEGIN { @n = $1 + 1; }");
    assert!(error.contains("E0300") && error.contains("string"), "{error}");
}

#[test]
fn named_arguments_set_parameters_and_are_checked() {
    let kernel = FixtureKernel::bundled();
    let source = "param $threshold = 5ms\nparam $cpu = -1\nparam $who = \"me\"\n\
                  softirq() /cpu == $cpu/ { if (dur > $threshold) { @[str($who)] = count(); } }";
    let with = |named: &[(&str, &str)]| {
        let options = CompileOptions {
            named_args: named.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect(),
            ..CompileOptions::default()
        };
        jitterlang::compile_with(source, &kernel, &options).map_err(|error| error.render("t", source))
    };
    let defaults = with(&[]).expect("the defaults compile").disassembly();
    assert!(defaults.contains("<= 0x4c4b40 goto"), "the default 5ms is 0x4c4b40 ns:\n{defaults}");
    let set = with(&[("threshold", "2s"), ("cpu", "1"), ("who", "you")]).expect("compiles").disassembly();
    assert!(set.contains("<= 0x77359400 goto") && !set.contains("0x4c4b40"), "--arg threshold=2s:\n{set}");
    let bad = with(&[("threshold", "soon")]).expect_err("not a duration");
    assert!(bad.contains("E0250") && bad.contains("`--arg threshold=soon` is not a duration"), "{bad}");
    let unknown = with(&[("thresold", "1ms")]).expect_err("no such parameter");
    assert!(unknown.contains("sets no parameter") && unknown.contains("`threshold`, `cpu`, `who`"), "{unknown}");
}

#[test]
fn positional_durations_and_parameters_fill_typed_probe_arguments() {
    let kernel = FixtureKernel::bundled();
    let options = CompileOptions { args: vec!["20ms".into(), "net_rx".into()], ..CompileOptions::default() };
    let source = "softirq(str($2)) /dur > $1/ { @ = count(); }";
    let error = jitterlang::compile_with(source, &kernel, &options).expect_err("str() is no probe argument");
    assert!(error.render("t", source).contains("E0001"), "probe arguments are literals, $N or $name");
    let source = "softirq($2) /dur > $1/ { @ = count(); }";
    let text = jitterlang::compile_with(source, &kernel, &options).expect("compiles").disassembly();
    assert!(text.contains("<= 0x1312d00 goto"), "$1 = 20ms is 0x1312d00 ns:\n{text}");
}

#[test]
fn positional_arguments_fill_typed_probe_arguments() {
    let kernel = FixtureKernel::bundled();
    let first = |args: &[&str], script: &str| {
        let options =
            CompileOptions { args: args.iter().map(|arg| arg.to_string()).collect(), ..CompileOptions::default() };
        let compiled = jitterlang::compile_with(script, &kernel, &options).expect("compiles");
        compiled.disassembly().lines().next().unwrap_or_default().to_string()
    };
    let irqoff = "irqoff($1) { @[kind] = count(); }";
    assert!(first(&["5ms"], irqoff).contains("(irqoff(5ms))"), "a duration argument");
    assert!(first(&[], irqoff).contains("(irqoff(10ms))"), "not given: the probe's default");
    let timer = r#"timer($1) { @ = count(); }"#;
    assert!(first(&["process_timeout"], timer).contains(r#"(timer("process_timeout"))"#), "a bare word");
    assert!(first(&["\"process_timeout\""], timer).contains(r#"(timer("process_timeout"))"#), "a string literal");
}

#[test]
fn tracepoint_wildcards_attach_every_match() {
    if !can_trace("tracepoint_wildcards_attach_every_match") {
        return;
    }
    // This thread calls getppid 7 times and getpgid 3 times while `sys_enter_getp*` is traced.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let script = format!("tracepoint:syscalls:sys_enter_getp* /tid == {tid}/ {{ @[probe] = count(); }}");
    let mut jl = std::process::Command::new(env!("CARGO_BIN_EXE_jl"))
        .args(["-f", "json", "-e", &script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn jl");
    let mut stderr = std::io::BufReader::new(jl.stderr.take().expect("stderr"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).expect("read stderr");
    assert!(line.starts_with("Attached"), "jl did not attach: {line}");
    for _ in 0..7 {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    }
    for _ in 0..3 {
        // SAFETY: getpgid(0) has no preconditions.
        unsafe { libc::getpgid(0) };
    }
    // SAFETY: SIGINT to the child we spawned.
    unsafe { libc::kill(jl.id() as i32, libc::SIGINT) };
    let output = jl.wait_with_output().expect("jl exits");
    let out = String::from_utf8_lossy(&output.stdout);
    let counts: serde_json::Value = out
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|record| record["type"] == "map")
        .expect("a map record");
    assert_eq!(counts["data"]["@"]["tracepoint:syscalls:sys_enter_getppid"], 7, "{out}");
    assert_eq!(counts["data"]["@"]["tracepoint:syscalls:sys_enter_getpgid"], 3, "{out}");
}

#[test]
fn loops_ternary_and_arguments_run_in_the_kernel() {
    if !can_trace("loops_ternary_and_arguments_run_in_the_kernel") {
        return;
    }
    let script = r#"BEGIN {
        $i = 0; $sum = 0;
        while ($i < $1) { $sum += $i; $i++; }
        unroll(3) { $sum += 100; }
        printf("%d %d %s %s\n", $sum, $#, str($2), $sum > 300 ? "big" : "small");
        if ($sum > 0) { exit(); return; }
        printf("not reached\n");
    }"#;
    let (code, out, err) = run_jl(&["-e", script, "10", "hello"]);
    assert_eq!(code, 0, "{err}");
    // 0 + 1 + ... + 9 = 45, plus 3 x 100.
    assert_eq!(out, "345 2 hello big\n\n\n");
}

#[test]
fn signed_division_truncates_toward_zero() {
    if !can_trace("signed_division_truncates_toward_zero") {
        return;
    }
    // As C (and Rust) compute them: BPF's div and mod are unsigned, so -7 / 2 printed 9223372036854775804 before.
    // Operands in registers (variables), immediates of either sign, i32::MIN as an immediate, division by zero
    // (bpftrace's 1 for both, and a warning).
    let script = "BEGIN { $a = -7; $b = 2; $c = -2; $z = 0; print(($a / $b, $a % $b, -7 / 2, $a / -2, $a % -2, \
                  7 / $c, 7 % $c, $a / $c, $a % $c, $a / $z, $a % $z, (-4294967296 - 5) / -2147483648, \
                  (-4294967296 - 5) % -2147483648)); exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    let expected = [-7i64 / 2, -7 % 2, -7 / 2, -7 / -2, -7 % -2, 7 / -2, 7 % -2, -7 / -2, -7 % -2, 1, 1]
        .iter()
        .map(i64::to_string)
        .chain([((-4294967296i64 - 5) / -2147483648).to_string(), ((-4294967296i64 - 5) % -2147483648).to_string()])
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(out, format!("({expected})\n\n\n"));
    assert!(err.contains("jl: warning: 2 divisions or remainders by 0"), "{err}");
}

#[test]
fn exit_with_a_code_is_the_exit_status() {
    if !can_trace("exit_with_a_code_is_the_exit_status") {
        return;
    }
    // bpftrace 0.27.1's basic.exit code: `begin { exit(69); }` returns 69.
    let (code, _, err) = run_jl(&["-e", "begin { exit(69); }"]);
    assert_eq!(code, 69, "{err}");
    // A value known only when the probe runs, after the maps are printed; the shell's 8 bits.
    let (code, out, err) = run_jl(&["-e", "interval:ms:10 { @n = count(); if (@n == 3) { exit(@n + 256); } }"]);
    assert_eq!((code, out.as_str()), (3, "\n\n@n: 3\n"), "{err}");
    let (code, _, err) = run_jl(&["-e", "begin { exit(); }"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn string_keys_of_any_size_share_a_map() {
    if !can_trace("string_keys_of_any_size_share_a_map") {
        return;
    }
    // The key grows to the longest string written, after a `for` loop that read the map with the shorter key: the
    // script is checked again so that the loop's key variable has the final size (the int after the string moves).
    let script = "BEGIN { @m[\"a\", 1] = 1; for ($kv : @m) { printf(\"%s %d %d\\n\", $kv.0.0, $kv.0.1, $kv.1); } \
                  @m[\"abcdefghijklmnop\", 2] = 2; for ($kv : @m) { printf(\"%s %d %d\\n\", $kv.0.0, $kv.0.1, $kv.1); } \
                  exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    // The second loop visits the two keys in the hash map's order.
    let mut second = lines[1..3].to_vec();
    second.sort_unstable();
    assert_eq!((lines[0], second), ("a 1 1", vec!["a 1 1", "abcdefghijklmnop 2 2"]), "{out}");
    assert!(out.ends_with("\n\n@m[a, 1]: 1\n@m[abcdefghijklmnop, 2]: 2\n"), "{out}");
}

#[test]
fn loops_run_in_programs_that_share_a_kind_of_attach_point() {
    if !can_trace("loops_run_in_programs_that_share_a_kind_of_attach_point") {
        return;
    }
    // Two perf events and BEGIN/END pairs: a `for` loop's callback needs BTF function info, which aya finds by
    // section name; programs sharing one had their records merged and the verifier refused the load.
    let script = "BEGIN { @m[1] = 10; } interval:ms:20 { @m[2] = 20; } \
                  interval:ms:60 { for ($kv : @m) { @seen[$kv.0] = $kv.1; } exit(); } \
                  END { for ($kv : @seen) { printf(\"%d=%d\\n\", $kv.0, $kv.1); } clear(@m); clear(@seen); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    let mut pairs: Vec<&str> = out.lines().filter(|line| line.contains('=')).collect();
    pairs.sort_unstable();
    assert_eq!(pairs, ["1=10", "2=20"], "{out}");
}

#[test]
fn while_stops_at_its_iteration_cap() {
    if !can_trace("while_stops_at_its_iteration_cap") {
        return;
    }
    let (code, out, err) = run_jl(&["-e", "BEGIN { $n = 0; while (1) { $n++; } printf(\"%d\\n\", $n); exit(); }"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("{}\n\n\n", jitterlang::ir::WHILE_MAX_ITERATIONS));
    assert!(err.starts_with("warning[W0100]: this loop can only end at its iteration cap"), "{err}");
}

#[test]
fn an_uneven_lhist_labels_its_last_bucket_like_bpftrace() {
    if !can_trace("an_uneven_lhist_labels_its_last_bucket_like_bpftrace") {
        return;
    }
    let script = "BEGIN { @h = lhist(1, 0, 10, 3); @h = lhist(7, 0, 10, 3); @h = lhist(9, 0, 10, 3); \
                  @h = lhist(10, 0, 10, 3); exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<(&str, &str)> =
        out.lines().skip(1).filter_map(|line| line.split_once(')')).map(|(label, rest)| (label, rest.trim())).collect();
    let counts: Vec<(&str, &str)> =
        rows.iter().map(|(label, rest)| (*label, rest.split_whitespace().next().unwrap_or(""))).collect();
    // bpftrace 0.27: [0, 3) [3, 6) [6, 9) [9, ...); the 9 and the 10 share the last bucket.
    assert_eq!(counts, [("[0, 3", "1"), ("[3, 6", "0"), ("[6, 9", "1"), ("[9, ...", "2")], "{out}");
}

#[test]
fn print_top_n_clear_and_delete() {
    if !can_trace("print_top_n_clear_and_delete") {
        return;
    }
    let script = "BEGIN { @a[1] = 10; @a[2] = 30; @a[3] = 20; print(@a, 2); clear(@a); \
                  @b = 1; delete(@b); @c = 5; exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    // print shows the two largest entries while the map is still full; clear and delete leave only @c at exit.
    assert_eq!(out, "@a[3]: 20\n@a[2]: 30\n\n\n@c: 5\n");
}

#[test]
fn increments_start_a_new_map_at_zero() {
    if !can_trace("increments_start_a_new_map_at_zero") {
        return;
    }
    let script = "BEGIN { @n++; @n++; @c[\"a\"] += 5; @c[\"a\"]++; @c[\"b\"]--; @t += 2ms; @t += 500us; exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "\n\n@c[b]: -1\n@c[a]: 6\n@n: 2\n@t: 2.5ms\n");
}

#[test]
fn zero_keeps_the_keys_with_zero_values() {
    if !can_trace("zero_keeps_the_keys_with_zero_values") {
        return;
    }
    // As in bpftrace, zero() keeps every key. User space zeroes when it handles the event, after the BEGIN
    // program has run on: the key deleted meanwhile is gone.
    let script = "BEGIN { @n[1] = count(); @n[2] = count(); @n[2] = count(); @s[\"x\"] = sum(7); @gone[1] = 3; \
                  @gone[2] = 4; zero(@n); zero(@s); zero(@gone); delete(@gone[1]); exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "\n\n@gone[2]: 0\n@n[1]: 0\n@n[2]: 0\n@s[x]: 0\n");
}

#[test]
fn string_comparisons_on_comm() {
    if !can_trace("string_comparisons_on_comm") {
        return;
    }
    // getppid from this thread only: other tests of this process count getpid calls.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let comm = std::fs::read_to_string("/proc/thread-self/comm").expect("comm");
    let comm = comm.trim();
    let script = format!(
        "tracepoint:syscalls:sys_enter_getppid /tid == {tid}/ {{ @same[comm == \"{comm}\" ? 1 : 0] = count(); \
         @other[comm != \"sshd\"] = count(); @prefix[comm == \"{}\"] = count(); }}",
        &comm[..comm.len() - 1]
    );
    let child = Command::new(env!("CARGO_BIN_EXE_jl"))
        .args(["-f", "json", "--duration", "1.5", "-e", &script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn jl");
    // Give jl time to attach, then make the calls from this thread (whose comm the script compares).
    std::thread::sleep(std::time::Duration::from_millis(700));
    for _ in 0..50 {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    let output = child.wait_with_output().expect("wait");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    let data = |name: &str| lines.iter().find_map(|l| l["data"].get(name).cloned()).unwrap_or_default();
    assert_eq!(data("@same")["1"], 50, "{out}");
    // Comparisons are bools, keys printed `true` and `false` as bpftrace prints them.
    assert_eq!(data("@other")["true"], 50, "{out}");
    // A strict prefix of comm is not equal to it.
    assert_eq!(data("@prefix")["false"], 50, "{out}");
}

#[test]
fn enum_and_bool_values_of_kernel_arguments_print_by_name() {
    if !can_trace("enum_and_bool_values_of_kernel_arguments_print_by_name") {
        return;
    }
    // close() of two descriptors that do not exist, from this thread: the kernel reports each fd, which prints as
    // its enumerator's name when it has one and as a number otherwise; the comparisons print `true`/`false`.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let script = format!(
        "enum Fd {{ SMALL = 54321, LARGE }}; tracepoint:syscalls:sys_enter_close /tid == {tid}/ {{ \
           $fd = (enum Fd)args.fd; printf(\"%d %s %s\\n\", $fd, $fd, args.fd == 54322); @[$fd, args.fd > 54321] = count(); \
           if (args.fd == 54323) {{ exit(); }} }}"
    );
    let jl = start_attached(&["-e", &script]);
    for fd in [54321, 54322, 54323] {
        // SAFETY: closing a descriptor this process does not have fails with EBADF and changes nothing.
        unsafe { libc::close(fd) };
    }
    let output = jl.wait_with_output().expect("jl exits");
    let out = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = out.lines().filter(|line| !line.is_empty()).collect();
    assert_eq!(
        lines,
        [
            "54321 SMALL false",
            "54322 LARGE true",
            "54323 54323 false",
            "@[SMALL, false]: 1",
            "@[LARGE, true]: 1",
            "@[54323, true]: 1"
        ],
        "{out}"
    );
}

#[test]
fn quantiles_of_known_values_match_the_bucket_math() {
    if !can_trace("quantiles_of_known_values_match_the_bucket_math") {
        return;
    }
    // The kernel buckets 1..=1000; user space reports each percentile as the top of its bucket:
    // 500 is in [496, 511], 900 in [896, 927], 990 in [960, 991], 999 in [992, 1023].
    let script = "BEGIN { $i = 1; while ($i <= 1000) { @q = quantiles($i); $i++; } @neg = quantiles(-5); exit(); }";
    let (code, out, err) = run_jl(&["-f", "json", "-e", script]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    let q = lines.iter().find_map(|l| l["data"].get("@q").cloned()).expect("@q");
    assert_eq!(q, serde_json::json!({"count": 1000, "p50": 511, "p90": 927, "p99": 991, "p99.9": 1023, "max": 1023}));
    let negative = lines.iter().find_map(|l| l["data"].get("@neg").cloned()).expect("@neg");
    assert_eq!(negative["max"], 0, "negative values count as 0");
    let (code, text, err) = run_jl(&["-e", "BEGIN { @d = quantiles(1500us); exit(); }"]);
    assert_eq!(code, 0, "{err}");
    // 1_500_000 ns is in [1_441_792, 1_507_327]: durations print with units.
    assert_eq!(text, "\n\n@d: count 1, p50 1.51ms, p90 1.51ms, p99 1.51ms, p99.9 1.51ms, max 1.51ms\n");
}

#[test]
fn a_duration_divided_is_a_plain_number() {
    if !can_trace("a_duration_divided_is_a_plain_number") {
        return;
    }
    // `dur / 1000` is microseconds (bpftrace's idiom): no nanosecond labels on it. Sums keep their units.
    let script = "BEGIN { @us = hist(1500us / 1000); @avg_us = avg(2ms / 1000); @ratio = sum(3ms / 1ms); \
                  @kept = sum(1500us * 2 + 1us); exit(); }";
    let (code, text, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("@avg_us: 2000\n"), "{text}");
    assert!(text.contains("@ratio: 3\n"), "{text}");
    assert!(text.contains("@kept: 3ms\n"), "{text}");
    assert!(text.contains("[1K, 2K)"), "a plain histogram of 1500: {text}");
}

#[test]
fn elapsed_counts_from_the_begin_phase() {
    if !can_trace("elapsed_counts_from_the_begin_phase") {
        return;
    }
    let script = "BEGIN { printf(\"%d\\n\", elapsed < 100ms); } \
                  interval:ms:300 { printf(\"%d\\n\", elapsed >= 300ms && elapsed < 3s); exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1\n1\n\n\n");
}

#[test]
fn has_key_ppid_jiffies_and_bswap_as_in_bpftrace() {
    if !can_trace("has_key_ppid_jiffies_and_bswap_as_in_bpftrace") {
        return;
    }
    // This thread starts `sh` twice, 50 ms apart, and each calls getppid at start: their `ppid` is this thread
    // (bpftrace's `real_parent->pid`, not this process's id), `@seen` (declared in BEGIN, as jl maps are by
    // their first assignment) has no entry for it the first time and one the second, and jiffies moved on.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let script = format!(
        "BEGIN {{ @seen[0] = 0; }} tracepoint:syscalls:sys_enter_getppid /ppid == {tid}/ {{ \
           printf(\"%d %d %d %x %x %lx %x\\n\", ppid, has_key(@seen, ppid), jiffies, bswap((uint16)0x1234), \
                  bswap((uint32)0x12345678), bswap(0x0102030405060708), bswap((uint8)7)); \
           @seen[ppid] = 1; @n++; if (@n == 2) {{ clear(@seen); exit(); }} }}"
    );
    let jl = start_attached(&["-e", &script]);
    for pause in [50, 0] {
        let status = Command::new("sh").args(["-c", "echo $PPID >/dev/null"]).status().expect("run sh");
        assert!(status.success());
        std::thread::sleep(std::time::Duration::from_millis(pause));
    }
    let output = jl.wait_with_output().expect("jl exits");
    let out = String::from_utf8_lossy(&output.stdout);
    let rows: Vec<Vec<&str>> = out.lines().take(2).map(|line| line.split(' ').collect()).collect();
    assert_eq!(rows.len(), 2, "{out}");
    for (row, seen) in rows.iter().zip(["0", "1"]) {
        assert_eq!(row[0], tid.to_string(), "ppid: {out}");
        assert_eq!(row[1], seen, "has_key: {out}");
        assert_eq!(row[3..], ["3412", "78563412", "807060504030201", "7"], "bswap: {out}");
    }
    let jiffies: Vec<u64> = rows.iter().map(|row| row[2].parse().expect("jiffies")).collect();
    assert!(jiffies[1] > jiffies[0], "jiffies went on in 50 ms: {out}");
}

#[test]
fn pcomm_leader_numaid_and_rand_as_in_bpftrace() {
    if !can_trace("pcomm_leader_numaid_and_rand_as_in_bpftrace") {
        return;
    }
    // `sh` started by this thread calls getppid at start, twice: its parent is this thread (pcomm is this
    // thread's name), it leads its own thread group, the CPUs are on NUMA node 0 here, and rand differs.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let thread_name = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).expect("thread name");
    let script = format!(
        "tracepoint:syscalls:sys_enter_getppid /ppid == {tid}/ {{ \
           printf(\"%s|%s|%d|%d|%d|%d\\n\", pcomm, leader_comm, leader_tid, pid, numaid, rand); \
           @n++; if (@n == 2) {{ exit(); }} }}"
    );
    let jl = start_attached(&["-e", &script]);
    for _ in 0..2 {
        let status = Command::new("sh").args(["-c", "echo $PPID >/dev/null"]).status().expect("run sh");
        assert!(status.success());
    }
    let output = jl.wait_with_output().expect("jl exits");
    let out = String::from_utf8_lossy(&output.stdout);
    let rows: Vec<Vec<&str>> = out.lines().take(2).map(|line| line.split('|').collect()).collect();
    assert_eq!(rows.len(), 2, "{out}");
    for row in &rows {
        assert_eq!(row[0], thread_name.trim_end(), "pcomm: {out}");
        assert_eq!(row[1], "sh", "leader_comm: {out}");
        assert_eq!(row[2], row[3], "leader_tid is sh's own id: {out}");
        assert_eq!(row[4], "0", "numaid: {out}");
    }
    assert_ne!(rows[0][5], rows[1][5], "rand: {out}");
}

#[test]
fn strncmp_compares_the_first_n_bytes_as_in_bpftrace() {
    if !can_trace("strncmp_compares_the_first_n_bytes_as_in_bpftrace") {
        return;
    }
    // Word boundaries: a partial first word, a whole word, a partial second word; a runtime string (comm).
    let script = r#"BEGIN { printf("%d %d %d %d %d %d %d %d\n", strncmp("hello", "help", 3), strncmp("hello", "help", 4),
        strncmp(comm, "jl", 2), strncmp(comm, "jx", 2), strncmp("abcdefgh", "abcdefgX", 8),
        strncmp("abcdefghijkl", "abcdefghijkX", 11), strncmp("abcdefghijkl", "abcdefghijkX", 12),
        strncmp("ab", "abc", 0)); exit(); }"#;
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "0 1 0 1 1 0 1 0", "{out}");
}

#[test]
fn ncpus_counts_the_possible_cpus_as_in_bpftrace() {
    if !can_trace("ncpus_counts_the_possible_cpus_as_in_bpftrace") {
        return;
    }
    // /sys/devices/system/cpu/possible is a list of ranges, `0-1` or `0,2-3`.
    let possible = std::fs::read_to_string("/sys/devices/system/cpu/possible").expect("possible CPUs");
    let count: u32 = possible
        .trim()
        .split(',')
        .map(|range| match range.split_once('-') {
            Some((first, last)) => last.parse::<u32>().expect("cpu") - first.parse::<u32>().expect("cpu") + 1,
            None => 1,
        })
        .sum();
    let (code, out, err) = run_jl(&["-e", r#"BEGIN { printf("%d\n", ncpus); exit(); }"#]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), count.to_string(), "{possible}");
}

#[test]
fn a_map_read_shared_by_predicate_and_block_sees_the_blocks_writes() {
    if !can_trace("a_map_read_shared_by_predicate_and_block_sees_the_blocks_writes") {
        return;
    }
    // The block reuses the predicate's read of @q[1] (its lookup) until a statement may change @q: the store,
    // then the delete inside the `if`, are each seen by the reads after them.
    let script = "BEGIN { @q[1] = 5; @r[2] = 7; } \
                  interval:ms:10 /@q[1] != 0 && @r[2] == 7/ { @before = @q[1]; @r2 = @r[2]; @q[1] = @q[1] + 10; \
                  @after = @q[1]; if (@q[1] == 15) { delete(@q[1]); } @gone = @q[1]; exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "\n\n@after: 15\n@before: 5\n@gone: 0\n@r[2]: 7\n@r2: 7\n");
    // Under `!`, an `&&` holds the block open without reading its right side: not shared (it printed a stale
    // stack word when it was).
    let script = "BEGIN { @q[1] = 5; } interval:ms:10 /!(cpu > 100000 && @q[1] == 5)/ { @seen = @q[1]; exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "\n\n@q[1]: 5\n@seen: 5\n");
    // `delete()` as a value changes the map inside an expression: the read after it looks the key up again, in
    // the block and after a predicate that deletes.
    let script =
        "BEGIN { @q[1] = 5; } interval:ms:10 /@q[1] != 0/ { $d = delete(@q, 1); @d = $d; @gone = @q[1]; exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "\n\n@d: true\n@gone: 0\n");
    let script = "BEGIN { @q[1] = 5; } interval:ms:10 /@q[1] != 0 && delete(@q, 1)/ { @gone = @q[1]; exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "\n\n@gone: 0\n");
}
