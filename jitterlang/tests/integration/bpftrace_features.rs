//! bpftrace 0.27 features jl took over, run end to end on this host: `hist(v, k)`, maps read in a probe written
//! before the one assigning them, `getopt()`, nothing acted on after `exit()`, `bench:` blocks in `--mode bench`,
//! `kaddr(str($1))`, `ppid(task)`, `ctx`, `username`, `pid` in a pid namespace.

use crate::support::run_jl;
use jitterlib::testing::can_trace;

/// Runs a script that exits by itself, asserts it succeeded, and returns its standard output.
fn output_of(args: &[&str]) -> String {
    let (code, out, err) = run_jl(args);
    assert_eq!(code, 0, "jl {args:?} failed:\n{out}\n{err}");
    out
}

/// The text row of one histogram bucket, as bpftrace lays it out.
fn row(label: &str, count: u64, bar: usize) -> String {
    format!("{label:<16}{count:>8} |{:<52}|", "@".repeat(bar))
}

#[test]
fn fine_hist_buckets_are_the_ones_bpftrace_computes() {
    if !can_trace("fine_hist_buckets_are_the_ones_bpftrace_computes") {
        return;
    }
    // The kernel computes each index; bpftrace's own example puts 225 with k = 2 in [224, 256).
    let script = "BEGIN { @h = hist(3, 2); @h = hist(9, 2); @h = hist(8, 2); @h = hist(225, 2); exit(); }";
    let text = output_of(&["-e", script]);
    let rows: Vec<&str> = text.lines().skip_while(|line| line.is_empty()).collect();
    assert_eq!(rows.first(), Some(&"@h:"), "bpftrace 0.27 prints no space after the colon:\n{text}");
    assert_eq!(rows[1], row("[3]", 1, 26), "{text}");
    assert!(rows.contains(&row("[8, 10)", 2, 52).as_str()), "{text}");
    assert!(rows.contains(&row("[20, 24)", 0, 0).as_str()), "{text}");
    assert_eq!(rows.iter().rev().find(|line| !line.is_empty()), Some(&row("[224, 256)", 1, 26).as_str()), "{text}");
    // Every row from the first to the last non-empty bucket: [3] to [7] one value each, then 4 rows per power of 2.
    assert_eq!(rows.iter().filter(|line| line.starts_with('[')).count(), 5 + 4 * 5, "{text}");

    // Past 2^10 the suffix is that of the power of two: 5 * 2^10 prints as 5K, 6 * 2^9 as 3072.
    let script = "BEGIN { @h = hist(5120, 2); @h = hist(-4, 2); @k = hist(3100, 2); exit(); }";
    let text = output_of(&["-e", script]);
    assert!(text.contains(&row("(..., 0)", 1, 52)), "{text}");
    assert!(text.contains(&row("[5K, 6K)", 1, 52)), "{text}");
    assert!(text.contains(&row("[3072, 3584)", 1, 52)), "{text}");

    // JSON: inclusive bounds, as bpftrace's.
    let json = output_of(&["-f", "json", "-e", "BEGIN { @ = hist(225, 2); exit(); }"]);
    let hist: serde_json::Value = json
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a JSON line"))
        .find(|object| object["type"] == "hist")
        .expect("a hist line");
    assert_eq!(hist["data"]["@"], serde_json::json!([{"min": 224, "max": 255, "count": 1}]), "{json}");
}

#[test]
fn a_map_is_read_in_a_probe_written_before_the_one_assigning_it() {
    if !can_trace("a_map_is_read_in_a_probe_written_before_the_one_assigning_it") {
        return;
    }
    // bpftrace 0.27's corpus entry `interval`: the count the kernel kept between the two interval runs is printed.
    let script =
        "interval:ms:300 { print(@c); clear(@c); exit(); } tracepoint:raw_syscalls:sys_enter { @c = count(); }";
    let text = output_of(&["-e", script]);
    let count: u64 = text
        .lines()
        .find_map(|line| line.strip_prefix("@c: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count printed:\n{text}"));
    assert!(count > 0, "{text}");
}

#[test]
fn getopt_reads_named_options_as_bpftrace_passes_them() {
    if !can_trace("getopt_reads_named_options_as_bpftrace_passes_them") {
        return;
    }
    // The kernel adds and stores each value: the maps hold what the options set.
    let script = "BEGIN { @n = getopt(\"n\", 5) + 1; @flag = getopt(\"flag\"); @off = getopt(\"off\", true); \
                  @neg = getopt(\"neg\", -3); printf(\"%s\\n\", getopt(\"who\", \"nobody\")); exit(); }";
    let lines = |args: &[&str]| -> Vec<String> {
        output_of(args).lines().filter(|line| !line.is_empty()).map(String::from).collect()
    };
    // The maps print by name at exit, as bpftrace's do; flags are bools.
    assert_eq!(lines(&["-e", script]), ["nobody", "@flag: false", "@n: 6", "@neg: -3", "@off: true"]);
    let set = lines(&["-e", script, "--", "--n=41", "--flag", "--off=false", "--who=alice"]);
    assert_eq!(set, ["alice", "@flag: true", "@n: 42", "@neg: -3", "@off: false"]);
    // jl's own `--arg` sets the same options, and a positional argument still is `$1`.
    let mixed = lines(&["--arg", "n=9", "-e", "BEGIN { @ = getopt(\"n\", 5) + $1; exit(); }", "100"]);
    assert_eq!(mixed, ["@: 109"]);
    let (code, _, err) = run_jl(&["-e", script, "--", "--n=many"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`--n=many` is not an integer"), "{err}");
    // As bpftrace reads them: bools in any case (and on/off, yes/no), integers in any base, and one past
    // i64::MAX is the unsigned number written (bpftrace's other.named command line params test).
    let spelled = lines(&["-e", script, "--", "--n=0x10", "--flag=YES", "--off=False", "--neg=-010"]);
    assert_eq!(spelled, ["nobody", "@flag: true", "@n: 17", "@neg: -8", "@off: false"]);
    let max = "BEGIN { print(getopt(\"aa\", 20)); exit(); }";
    assert_eq!(lines(&["-e", max, "--", "--aa=0xffffffffffffffff"]), ["18446744073709551615"]);
}

#[test]
fn help_after_the_script_lists_its_parameters() {
    // bpftrace's `-- --help`: the options with their defaults and descriptions, and a failure exit.
    let script = r#"param $limit = 10ms
        BEGIN { print((getopt("aa", 10, "Description of aa"), getopt("bb", 1), getopt("cc"), $limit)); }"#;
    let (code, _, err) = run_jl(&["-e", script, "--", "--help"]);
    assert_eq!(code, 2, "{err}");
    let notes: Vec<&str> = err.lines().filter_map(|line| line.trim().strip_prefix("= note: ")).collect();
    assert_eq!(
        notes,
        ["--limit (default 10ms)", "--aa (default 10): Description of aa", "--bb (default 1)", "--cc (default false)"],
        "{err}"
    );
    assert!(err.starts_with("error[E0250]: `--help`: the script's parameters are\n"), "{err}");
}

#[test]
fn integers_starting_with_0_are_octal_as_in_bpftrace() {
    if !can_trace("integers_starting_with_0_are_octal_as_in_bpftrace") {
        return;
    }
    // bpftrace's other.positional multiple bases test, and its literals: 0775 is 509, 0b101 is 5.
    let script = r#"BEGIN { printf("got: %d %o 0x%x %d %d %d\n", $1, $2, $3, 010, 0b101, 1_000); exit(); }"#;
    let text = output_of(&["-e", script, "123", "0775", "0x123"]);
    assert_eq!(text.trim(), "got: 123 775 0x123 8 5 1000");
}

#[test]
fn events_queued_behind_an_exit_are_not_printed() {
    if !can_trace("events_queued_behind_an_exit_are_not_printed") {
        return;
    }
    let tid = unsafe { libc::gettid() };
    let script = format!(r#"tracepoint:syscalls:sys_enter_getppid /tid == {tid}/ {{ printf("hit\n"); exit(); }}"#);
    let tracing = crate::runtime::Tracing::start_with(&[], &script, 10.0);
    // Many runs queue their printf and exit before jl reads the first: as in bpftrace, only the first is acted on.
    for _ in 0..2000 {
        unsafe { libc::getppid() };
    }
    let out = tracing.finish_text();
    assert_eq!(out.matches("hit").count(), 1, "printed after exit():\n{out}");
}

#[test]
fn bench_mode_times_each_benchmark_and_the_kernel_ran_it_that_often() {
    if !can_trace("bench_mode_times_each_benchmark_and_the_kernel_ran_it_that_often") {
        return;
    }
    // END reads what the runs counted: at least the iterations of the measurement that counted, as every
    // shorter one ran before it.
    let script = "bench:count { @a = count(); } bench:hist_of_cpu { @b = count(); @h = lhist(cpu, 0, 512, 1); } \
                  END { printf(\"runs %d %d\\n\", @a, @b); clear(@a); clear(@b); clear(@h); }";
    let text = output_of(&["--mode", "bench", "-e", script]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("{:<41}{:<15}Iterations", "Benchmark", "Time(ns)"), "{text}");
    assert_eq!(lines[1], "-".repeat(66), "{text}");
    let rows: Vec<(String, u64, u64)> = lines[2..4]
        .iter()
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            (words[0].to_string(), words[1].parse().expect("ns"), words[2].parse().expect("iterations"))
        })
        .collect();
    assert_eq!((rows[0].0.as_str(), rows[1].0.as_str()), ("count", "hist_of_cpu"), "{text}");
    let runs: Vec<u64> = text
        .lines()
        .find_map(|line| line.strip_prefix("runs "))
        .expect("END ran")
        .split(' ')
        .map(|n| n.parse().expect("count"))
        .collect();
    for ((name, ns, iterations), runs) in rows.iter().zip(&runs) {
        // bpftrace's schedule: the counted measurement took at least 1 ms, and a run takes some nanoseconds.
        assert!(*ns > 0 && ns * iterations >= 1_000_000, "{name}: {ns} ns x {iterations}\n{text}");
        assert!(runs >= iterations, "{name}: the kernel counted {runs} runs, fewer than {iterations}\n{text}");
    }
    let json = output_of(&["--mode", "bench", "-q", "-f", "json", "-e", "bench:a { @a = count(); clear(@a); }"]);
    let record: serde_json::Value = serde_json::from_str(json.lines().next().expect("a record")).expect("JSON");
    assert_eq!(record["type"], "benchmark_result", "{json}");
    assert!(record["data"]["a"]["average"].as_u64().is_some_and(|ns| ns > 0), "{json}");
    assert!(record["data"]["a"]["iters"].as_u64().is_some_and(|n| n >= 1000), "{json}");
}

#[test]
fn bench_blocks_run_only_in_bench_mode() {
    if !can_trace("bench_blocks_run_only_in_bench_mode") {
        return;
    }
    let text = output_of(&["-e", "bench:a { @ran = count(); } interval:ms:10 { @tick = 1; exit(); }"]);
    assert!(text.contains("@tick: 1") && !text.contains("@ran"), "{text}");
    let (code, _, err) = run_jl(&["-e", "bench:a { @ran = count(); }"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("`bench:` blocks run only with --mode bench"), "{err}");
}

#[test]
fn a_divisor_that_is_0_when_the_probe_runs_gives_1_and_a_warning() {
    if !can_trace("a_divisor_that_is_0_when_the_probe_runs_gives_1_and_a_warning") {
        return;
    }
    // bpftrace's regression.zero_divide and zero_modulo: 1 is the result, and a warning; other divisions are
    // unchanged (signed ones truncate toward zero).
    let script = "BEGIN { @zero = 0; @one = 1; $m = -7; printf(\"%d %d %d %d %d\\n\", (uint64)10 / (uint64)@zero, \
                  (uint64)10 % (uint64)@zero, $m / (int64)@zero, $m / (int64)(@one + 1), 7 % (uint64)(@one + 2)); \
                  exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().next(), Some("1 1 1 -3 1"), "{out}");
    assert!(err.contains("jl: warning: 3 divisions or remainders by 0 (each gave 1, as in bpftrace)\n"), "{err}");
    let (_, out, _) = run_jl(&["-f", "json", "-e", script]);
    let lost = out.lines().find(|line| line.contains("\"lost\"")).unwrap_or_else(|| panic!("no lost record: {out}"));
    assert!(lost.contains("\"divide_by_zero\": 3"), "{lost}");
    let (_, _, err) = run_jl(&["-e", "BEGIN { @one = 1; printf(\"%d\\n\", 10 / (uint64)@one); exit(); }"]);
    assert!(!err.contains("warning"), "no division by 0, no warning: {err}");
}

#[test]
fn kaddr_takes_a_script_argument_as_the_symbol() {
    if !can_trace("kaddr_takes_a_script_argument_as_the_symbol") {
        return;
    }
    // The address BEGIN stores (as bpftrace prints it, in decimal) is vfs_read's in /proc/kallsyms.
    let kallsyms = std::fs::read_to_string("/proc/kallsyms").expect("read /proc/kallsyms");
    let address = kallsyms
        .lines()
        .find_map(|line| line.strip_suffix(" T vfs_read").map(|hex| u64::from_str_radix(hex, 16).expect("hex")))
        .expect("vfs_read in /proc/kallsyms");
    let out = output_of(&["-e", "BEGIN { @ = kaddr(str($1)); exit() }", "vfs_read"]);
    assert_eq!(out.trim(), format!("@: {address}"));
}

#[test]
fn ppid_and_its_kin_take_a_task() {
    if !can_trace("ppid_and_its_kin_take_a_task") {
        return;
    }
    // BEGIN runs in jl, forked by this test's thread: its real_parent is that thread, its leader itself.
    let script = "BEGIN { printf(\"%d %d %d\\n\", ppid(curtask), ppid(), leader_tid(curtask)); \
                  printf(\"%s %s\\n\", pcomm(curtask), leader_comm(curtask)); @pid = pid; exit(); }";
    let out = output_of(&["-e", script]);
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let lines: Vec<&str> = out.lines().collect();
    let jl_pid = lines.iter().find_map(|line| line.strip_prefix("@pid: ")).expect("@pid");
    assert_eq!(lines[0], format!("{tid} {tid} {jl_pid}"), "{out}");
    let thread_name = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).expect("comm");
    assert_eq!(lines[1], format!("{} jl", thread_name.trim_end()), "{out}");
}

#[test]
fn ctx_is_the_context_the_kernel_passed() {
    if !can_trace("ctx_is_the_context_the_kernel_passed") {
        return;
    }
    // A perf event's context is the kernel's bpf_perf_event_data_kern: its regs are the registers `reg()` reads
    // (through the context the verifier rewrites), so the two instruction pointers agree on every sample.
    let script = "profile:hz:997 { @[((struct bpf_perf_event_data_kern *)ctx)->regs->ip == reg(\"ip\")] = count(); }";
    let out = output_of(&["--duration", "0.5", "-e", script]);
    let rows: Vec<&str> = out.lines().filter(|line| line.starts_with('@')).collect();
    assert_eq!(rows.len(), 1, "{out}");
    let count: u64 = rows[0].strip_prefix("@[true]: ").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{out}"));
    assert!(count > 0, "{out}");
}

#[test]
fn username_names_the_user_a_process_runs_as() {
    if !can_trace("username_names_the_user_a_process_runs_as") {
        return;
    }
    use std::os::unix::process::CommandExt;
    // A program started as uid 65534 execs: the kernel reports that uid, printed with its name in /etc/passwd.
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    let name =
        passwd.lines().map(|line| line.split(':').collect::<Vec<_>>()).find(|fields| fields.get(2) == Some(&"65534"));
    let Some(name) = name.map(|fields| fields[0].to_string()) else {
        return jitterlib::testing::skip("username_names_the_user_a_process_runs_as", "/etc/passwd has no user 65534");
    };
    let tracing = crate::runtime::Tracing::start(
        "tracepoint:sched:sched_process_exec /uid == 65534/ { @[username, uid] = count(); @one = username; }",
        1.5,
    );
    let status = std::process::Command::new("/bin/true").uid(65534).gid(65534).status().expect("run /bin/true");
    assert!(status.success());
    let lines = tracing.finish();
    assert_eq!(crate::runtime::map_data(&lines, "@"), &serde_json::json!({ format!("{name},65534"): 1 }));
    assert_eq!(crate::runtime::map_data(&lines, "@one"), &serde_json::json!(name));
}

#[test]
fn pid_counts_in_the_pid_namespace_jl_runs_in() {
    if !can_trace("pid_counts_in_the_pid_namespace_jl_runs_in") {
        return;
    }
    // jl as the first process of a new pid namespace: BEGIN runs in jl, pid 1 there; pid(init) is its host pid.
    // This test's thread, outside that namespace, has no pid there (0) and its own pid in the initial one.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let script = format!(
        "BEGIN {{ @begin = (pid, tid(curr_ns), pid(init) > 1, tid(init) == pid(init)); }}
         tracepoint:syscalls:sys_enter_getppid /tid(init) == {tid}/ {{ @outside[pid, tid, pid(init), tid(init)] = count(); }}"
    );
    let mut command = std::process::Command::new("unshare");
    command.args(["--fork", "--pid", "--mount-proc", env!("CARGO_BIN_EXE_jl"), "-f", "json", "--duration", "1.5"]);
    let (mut child, _, lines) = crate::support::spawn_attached(command.arg("-e").arg(&script));
    std::thread::spawn(move || for _ in lines {});
    for _ in 0..10 {
        // SAFETY: getppid has no preconditions; the raw syscall avoids any libc caching.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut out).expect("read");
    assert!(child.wait().expect("wait").success(), "{out}");
    let lines: Vec<serde_json::Value> = out.lines().map(|line| serde_json::from_str(line).expect("JSON")).collect();
    assert_eq!(crate::runtime::map_data(&lines, "@begin"), &serde_json::json!([1, 1, true, true]));
    let pid = std::process::id();
    assert_eq!(crate::runtime::map_data(&lines, "@outside"), &serde_json::json!({ format!("0,0,{pid},{tid}"): 10 }));
}

/// printf's `%gr` (bpftrace 0.27): GFP flags by the names and in the order the kernel's own `show_gfp_flags()` table
/// gives them (read from kmem:kmalloc's print format), compound masks first, unnamed bits in hex, `0` for none. The
/// constants print as bpftrace 0.27.1 prints them on this host; a real allocation's flags are all named.
#[test]
fn printf_gr_names_gfp_flags_as_the_kernel_does() {
    if !can_trace("printf_gr_names_gfp_flags_as_the_kernel_does") {
        return;
    }
    let script =
        r#"begin { printf("%gr|%gr|%gr|%gr|%gr|%gr\n", 0x1, 0xcc0, 0x400cc0 | 0x100, 0, 0x2800, 0x80000000); }"#;
    assert_eq!(
        output_of(&["-e", script]).trim(),
        "GFP_DMA|GFP_KERNEL|GFP_KERNEL_ACCOUNT|__GFP_ZERO|0|GFP_NOWAIT|0x80000000"
    );
    let script = r#"tracepoint:kmem:kmalloc /args.gfp_flags != 0/ { printf("%x=%gr\n", args.gfp_flags, args.gfp_flags); exit(); }"#;
    let (code, out, err) = run_jl(&["-e", script, "-c", "/bin/ls /"]);
    assert_eq!(code, 0, "{err}");
    let (hex, names) = out.trim().split_once('=').unwrap_or_else(|| panic!("{out}"));
    assert!(u64::from_str_radix(hex, 16).is_ok_and(|flags| flags != 0), "{out}");
    assert!(!names.is_empty() && !names.contains("0x"), "every bit of a real allocation has a name: {out}");
    assert!(names.split('|').all(|name| name.starts_with("GFP_") || name.starts_with("__GFP_")), "{out}");
}
