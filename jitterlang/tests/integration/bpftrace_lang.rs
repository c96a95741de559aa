//! bpftrace 0.27's language constructs, run end to end on this host: `print()` of values, `let`, `for` range
//! loops, `config` blocks.

use crate::support::run_jl;
use jitterlib::testing::can_trace;
use std::process::Command;

/// Runs a script that exits by itself, asserts it succeeded, and returns its standard output.
fn output_of(args: &[&str]) -> String {
    let (code, out, err) = run_jl(args);
    assert_eq!(code, 0, "jl {args:?} failed:\n{out}\n{err}");
    out
}

/// Starts `jl -e SCRIPT`, and once it is attached starts three `sh` one after the other (each calls getppid once,
/// as a child of this thread); returns their pids and jl's standard output once the script has exited.
fn with_three_shells(script: &str) -> (Vec<u32>, String) {
    let mut jl = Command::new(env!("CARGO_BIN_EXE_jl"))
        .args(["-e", script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn jl");
    let mut stderr = std::io::BufReader::new(jl.stderr.take().expect("stderr"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).expect("read stderr");
    assert!(line.starts_with("Attached"), "jl did not attach: {line}");
    let mut children = Vec::new();
    for _ in 0..3 {
        let mut sh = Command::new("sh").args(["-c", "echo $PPID >/dev/null"]).spawn().expect("run sh");
        children.push(sh.id());
        assert!(sh.wait().expect("sh exits").success());
    }
    let output = jl.wait_with_output().expect("jl exits");
    (children, String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn print_of_values_as_bpftrace_prints_them() {
    if !can_trace("print_of_values_as_bpftrace_prints_them") {
        return;
    }
    // bpftrace 0.27.1 prints `1`, `abc`, `-5` for the first three (text), and `{"type": "value", "data": 1}` in JSON.
    let script =
        "BEGIN { print(1); print(\"abc\"); print(-5); print(comm); print(10ms); $x = 3; print($x * 2); exit(); }";
    assert_eq!(output_of(&["-e", script]), "1\nabc\n-5\njl\n10ms\n6\n\n\n");
    let json = output_of(&["-f", "json", "-e", "BEGIN { print(7); print(\"abc\"); print(-5); exit(); }"]);
    let values: Vec<serde_json::Value> = json
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a JSON line"))
        .filter(|object| object["type"] == "value")
        .map(|object| object["data"].clone())
        .collect();
    assert_eq!(values, [serde_json::json!(7), serde_json::json!("abc"), serde_json::json!(-5)], "{json}");
}

#[test]
fn print_of_a_value_the_kernel_reported() {
    if !can_trace("print_of_a_value_the_kernel_reported") {
        return;
    }
    // The `sh` this test starts calls getppid: print(ppid) shows this thread, which forked it.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let script = format!("tracepoint:syscalls:sys_enter_getppid /ppid == {tid}/ {{ print(ppid); exit(); }}");
    let mut jl = Command::new(env!("CARGO_BIN_EXE_jl"))
        .args(["-e", &script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn jl");
    let mut stderr = std::io::BufReader::new(jl.stderr.take().expect("stderr"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).expect("read stderr");
    assert!(line.starts_with("Attached"), "jl did not attach: {line}");
    let status = Command::new("sh").args(["-c", "echo $PPID >/dev/null"]).status().expect("run sh");
    assert!(status.success());
    let output = jl.wait_with_output().expect("jl exits");
    assert_eq!(String::from_utf8_lossy(&output.stdout), format!("{tid}\n\n\n"));
}

#[test]
fn let_variables_live_in_their_block() {
    if !can_trace("let_variables_live_in_their_block") {
        return;
    }
    // bpftrace 0.27.1 prints the same three lines for this script (lowercase `begin`).
    let script = "BEGIN { let $a = 1; let $b; $b = \"x\"; if (1) { let $c = 5; print($c + $a); } \
                  if (1) { let $c = \"s\"; print($c); } print($b); exit(); }";
    assert_eq!(output_of(&["-e", script]), "6\ns\nx\n\n\n");
}

#[test]
fn for_range_loops_with_break_and_continue() {
    if !can_trace("for_range_loops_with_break_and_continue") {
        return;
    }
    // bpftrace 0.27.1 prints 0, 2, 3 and `@s: 3` for this script: `continue` still steps $i, `break` leaves,
    // the end is exclusive and may be a variable.
    let script = "BEGIN { for ($i : 0..6) { if ($i == 1) { continue; } if ($i == 4) { break; } print($i); } \
                  $n = 3; for ($j : 1..$n) { @s += $j; } print(@s); clear(@s); exit(); }";
    assert_eq!(output_of(&["-e", script]), "0\n2\n3\n@s: 3\n\n\n");
    // The range is evaluated once and $i is set afresh each iteration (bpftrace's docs: this runs 10 times).
    let script = "BEGIN { $a = 10; for ($i : 0..$a) { $a--; $i += 5; @n++; } print(@n); clear(@n); exit(); }";
    assert_eq!(output_of(&["-e", script]), "@n: 10\n\n\n");
}

#[test]
fn config_max_map_keys_sizes_the_maps() {
    if !can_trace("config_max_map_keys_sizes_the_maps") {
        return;
    }
    // As in bpftrace 0.27.1: the kernel keeps 2 of the 5 keys (E2BIG for the others); jl counts the 3 failures.
    let script = "config = { max_map_keys = 2 } BEGIN { for ($i : 0..5) { @m[$i] = $i; } exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "\n\n@m[0]: 0\n@m[1]: 1\n");
    assert!(err.contains("3 map updates failed"), "{err}");
    // The command line wins over the script, as bpftrace's environment variables do.
    let (_, out, _) = run_jl(&["--map-keys", "3", "-e", script]);
    assert_eq!(out.lines().filter(|line| line.starts_with("@m[")).count(), 3, "{out}");
}

#[test]
fn config_settings_for_exit_printing_missing_probes_and_license() {
    if !can_trace("config_settings_for_exit_printing_missing_probes_and_license") {
        return;
    }
    // print_maps_on_exit = 0: bpftrace 0.27.1 prints no map at exit (these three lines); print() still prints.
    let script = "config = { print_maps_on_exit = 0 } BEGIN { @c[\"test\"] = count(); @s = 1; print(@s); exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "@s: 1\n\n\n");
    // missing_probes = warn: the attach point this kernel lacks is skipped with a warning naming it, the other
    // attaches and runs (the syscall tracepoint counts this process's own read of /proc).
    let script =
        "config = { missing_probes = warn } tracepoint:syscalls:sys_enter_openat,tracepoint:nonsense:nonsense \
                  /pid == $1/ { @opens = count(); } interval:ms:200 { exit(); }";
    let pid = std::process::id().to_string();
    let child = std::thread::spawn(|| {
        for _ in 0..20 {
            let _ = std::fs::read("/proc/self/stat");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    });
    let (code, out, err) = run_jl(&["-e", script, &pid]);
    child.join().expect("reader");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("this kernel has no tracepoint `nonsense:nonsense`"), "{err}");
    assert!(err.contains("missing_probes = warn"), "{err}");
    let opens: u64 =
        out.trim().strip_prefix("@opens: ").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{out}"));
    assert!(opens >= 1, "{out}");
    // A block left with no attach point is removed, the rest runs; with nothing left, nothing to attach.
    let script = "config = { missing_probes = ignore } tracepoint:nonsense:nonsense { @x = 1; } \
                  BEGIN { printf(\"ran\\n\"); exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!((code, out.as_str(), err.contains("nonsense")), (0, "ran\n\n\n", false), "{err}");
    let (code, _, err) =
        run_jl(&["-e", "config = { missing_probes = ignore } tracepoint:nonsense:nonsense { @x = 1; }"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no probes to attach"), "{err}");
    // Every license bpftrace accepts is GPL-compatible: the GPL-only helper behind kstack loads under it.
    let script = "config = { license = \"Dual BSD/GPL\" } profile:hz:99 { @[kstack] = count(); exit(); }";
    let (code, _, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn cat_prints_a_file_named_by_a_format() {
    if !can_trace("cat_prints_a_file_named_by_a_format") {
        return;
    }
    // bpftrace 0.27.1 prints `Linux` for the first; a missing file is an error message and tracing goes on.
    let script =
        "begin { cat(\"/proc/sys/kernel/%s\", \"ostype\"); cat(\"/does/not/exist\"); printf(\"%hhx\\n\", -1); \
                  exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "Linux\nff\n\n\n");
    assert!(err.contains("failed to open file '/does/not/exist' (No such file or directory)"), "{err}");
}

#[test]
fn config_variables_in_the_environment_win_over_the_script_as_in_bpftrace() {
    if !can_trace("config_variables_in_the_environment_win_over_the_script_as_in_bpftrace") {
        return;
    }
    // bpftrace 0.27.1 prints `Lin` for both: BPFTRACE_MAX_CAT_BYTES=3 wins over the block's 1.
    let jl = |env: &str, script: &str| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_jl"))
            .env("BPFTRACE_MAX_CAT_BYTES", env)
            .args(["-q", "-e", script])
            .output()
            .expect("run jl");
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        (output.status.code(), text(&output.stdout), text(&output.stderr))
    };
    let cat = "begin { cat(\"/proc/sys/kernel/ostype\"); exit(); }";
    assert_eq!(jl("3", cat), (Some(0), "Lin\n\n".to_string(), String::new()));
    let configured = format!("config = {{ max_cat_bytes = 1 }} {cat}");
    assert_eq!(jl("3", &configured), (Some(0), "Lin\n\n".to_string(), String::new()));
    let (code, _, err) = jl("x", cat);
    assert_eq!(code, Some(2), "a compile error: {err}");
    assert!(err.contains("max_cat_bytes is a number of bytes, not `x`"), "{err}");
    assert!(err.contains("note: from the environment: BPFTRACE_MAX_CAT_BYTES=x"), "{err}");
}

#[test]
fn tuples_print_and_store_as_bpftrace_does() {
    if !can_trace("tuples_print_and_store_as_bpftrace_does") {
        return;
    }
    // bpftrace 0.27.1 prints these lines for this script (lowercase `begin`, its own comm): a tuple key is its
    // elements, a tuple value prints in parentheses, strings unquoted.
    let script = "BEGIN { $t = (1, \"two\", comm); print($t); print($t.1); @k[1, 2] = 6; @m[1] = (3, \"x\"); \
                  @n[(1, 2)] = 5; exit(); }";
    assert_eq!(output_of(&["-e", script]), "(1, two, jl)\ntwo\n\n\n@k[1, 2]: 6\n@m[1]: (3, x)\n@n[1, 2]: 5\n");
    // JSON: a tuple is an array, in a value and in a map (bpftrace 0.27.1 prints the same data).
    let json = output_of(&["-f", "json", "-e", script]);
    let objects: Vec<serde_json::Value> =
        json.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
    let data = |kind: &str| -> Vec<serde_json::Value> {
        objects.iter().filter(|object| object["type"] == kind).map(|object| object["data"].clone()).collect()
    };
    assert_eq!(data("value"), [serde_json::json!([1, "two", "jl"]), serde_json::json!("two")], "{json}");
    assert!(data("map").contains(&serde_json::json!({"@m": {"1": [3, "x"]}})), "{json}");
    assert!(data("map").contains(&serde_json::json!({"@n": {"1,2": 5}})), "{json}");
}

#[test]
fn tuples_of_what_the_kernel_reported() {
    if !can_trace("tuples_of_what_the_kernel_reported") {
        return;
    }
    // The `sh` this test starts calls getppid: the tuples hold its pid and comm as the kernel reported them,
    // through a variable, an element read back from it, a map value and a map read.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let script = format!(
        "tracepoint:syscalls:sys_enter_getppid /ppid == {tid}/ {{ $t = (pid, comm, ppid); @t[$t.0] = ($t.1, $t.2); \
         print($t); print(@t[pid].0); exit(); }}"
    );
    let mut jl = Command::new(env!("CARGO_BIN_EXE_jl"))
        .args(["-e", &script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn jl");
    let mut stderr = std::io::BufReader::new(jl.stderr.take().expect("stderr"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).expect("read stderr");
    assert!(line.starts_with("Attached"), "jl did not attach: {line}");
    let mut sh = Command::new("sh").args(["-c", "echo $PPID >/dev/null"]).spawn().expect("run sh");
    let child = sh.id();
    assert!(sh.wait().expect("sh exits").success());
    let output = jl.wait_with_output().expect("jl exits");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("({child}, sh, {tid})\nsh\n\n\n@t[{child}]: (sh, {tid})\n")
    );
}

#[test]
fn len_counts_the_keys_the_kernel_holds() {
    if !can_trace("len_counts_the_keys_the_kernel_holds") {
        return;
    }
    // bpftrace 0.27.1 prints 2 for `len(@m)` of a map with two keys. Here the keys come from the kernel: each
    // `sh` this test starts calls getppid once, in a process of its own, and len() of the per-CPU count map
    // keyed by pid counts them (after a delete, one fewer); the map holds the same pids.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let script = format!(
        "tracepoint:syscalls:sys_enter_getppid /ppid == {tid}/ {{ @pids[pid] = count(); @n = len(@pids); \
         if (@n == 3) {{ delete(@pids, pid); print(len(@pids)); exit(); }} }}"
    );
    let (children, stdout) = with_three_shells(&script);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("2"), "{stdout}");
    let pids: Vec<&str> = lines.filter(|line| line.starts_with("@pids[")).collect();
    let expected: Vec<String> = children[..2].iter().map(|pid| format!("@pids[{pid}]: 1")).collect();
    assert_eq!(pids.len(), 2, "{stdout}");
    assert!(expected.iter().all(|line| pids.contains(&line.as_str())), "{stdout}");
    assert!(stdout.contains("@n: 3"), "{stdout}");
}

#[test]
fn for_loops_over_maps_with_break_and_continue() {
    if !can_trace("for_loops_over_maps_with_break_and_continue") {
        return;
    }
    // As in bpftrace 0.27.1: `$kv` is (key, value), a map with two keys gives a tuple key, variables assigned in
    // the body are seen after it, `continue` skips an entry and `break` ends the walk. The sums do not depend on
    // the order of the walk (the kernel's hash order). (A loop that counts its entries to decide when to break is
    // refused by the verifier, which cannot see the count converge: bpftrace 0.27.1's load fails the same way.)
    let script = "BEGIN { @m[1] = 10; @m[2] = 20; @m[3] = 30; $sum = 0; $seen = 0; \
                  for ($kv : @m) { $seen++; if ($kv.0 == 2) { continue; } $sum += $kv.1; } print($sum); print($seen); \
                  $found = 0; for ($kv : @m) { if ($kv.1 == 20) { $found = $kv.0; break; } } print($found); \
                  @s[1, \"a\"] = \"x\"; for ($kv : @s) { print($kv); print($kv.0.1); } clear(@m); clear(@s); exit(); }";
    assert_eq!(output_of(&["-e", script]), "40\n3\n2\n((1, a), x)\na\n\n\n");
}

#[test]
fn for_loops_over_maps_the_kernel_filled() {
    if !can_trace("for_loops_over_maps_the_kernel_filled") {
        return;
    }
    // Each `sh` this test starts calls getppid once: the map holds each one's pid and comm as the kernel reported
    // them, and the loop (run when the third arrives) counts the entries whose comm is `sh` and copies their pids.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let script = format!(
        "tracepoint:syscalls:sys_enter_getppid /ppid == {tid}/ {{ @comms[pid] = comm; if (len(@comms) == 3) {{ \
         $n = 0; for ($kv : @comms) {{ if ($kv.1 == \"sh\") {{ $n++; @pids[$kv.0] = $n; }} }} print($n); \
         clear(@comms); exit(); }} }}"
    );
    let (mut children, stdout) = with_three_shells(&script);
    assert!(stdout.starts_with("3\n"), "{stdout}");
    let mut pids: Vec<u32> =
        stdout.lines().filter_map(|line| line.strip_prefix("@pids[")?.split(']').next()?.parse().ok()).collect();
    pids.sort_unstable();
    children.sort_unstable();
    assert_eq!(pids, children, "{stdout}");
}

#[test]
fn map_walks_name_the_kernel_they_need() {
    // bpf_for_each_map_elem came with Linux 5.13: compiled for 5.10, `len()` and a map loop say so.
    let kernel = jitterlib::kernel::FixtureKernel::bundled().with_release("5.10.0-35-amd64");
    let script = "tracepoint:sched:sched_process_fork { @m[1] = 1; @n = len(@m); for ($kv : @m) { } }";
    let error = jitterlang::compile_with(script, &kernel, &jitterlang::CompileOptions::default())
        .expect_err("no bpf_for_each_map_elem before 5.13");
    let text = error.render("walk.bt", script);
    assert_eq!(
        text.matches("needs bpf_for_each_map_elem (Linux 5.13); this kernel is 5.10.0-35-amd64").count(),
        2,
        "{text}"
    );
}
