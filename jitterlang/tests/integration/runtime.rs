//! Runtime tests: the real `jl` binary attaches real probes on the running kernel; the tests cause known
//! events and assert on what the kernel reported. They need root and say so loudly when skipped.

use crate::support::{run_jl, spawn_attached};
use jitterlib::testing::can_trace;
use serde_json::Value;
use std::io::Read;
use std::process::{Child, Command};
use std::time::Duration;

/// A running `jl`, attached.
pub(crate) struct Tracing {
    child: Child,
    /// What jl printed on stderr before it was attached (`-v` output).
    pub(crate) preamble: Vec<String>,
}

impl Tracing {
    /// Starts `jl -f json --duration SECS -e SCRIPT` and waits until its probes are attached.
    pub(crate) fn start(script: &str, seconds: f64) -> Tracing {
        Tracing::start_with(&["-f", "json"], script, seconds)
    }

    /// Starts `jl OPTIONS --duration SECS -e SCRIPT` and waits until its probes are attached.
    pub(crate) fn start_with(options: &[&str], script: &str, seconds: f64) -> Tracing {
        Tracing::spawn(options, &["-e", script], seconds)
    }

    /// Starts `jl OPTIONS --duration SECS NAME`, a bundled script, and waits until its probes are attached.
    pub(crate) fn start_bundled(options: &[&str], name: &str, seconds: f64) -> Tracing {
        Tracing::spawn(options, &[name], seconds)
    }

    fn spawn(options: &[&str], script: &[&str], seconds: f64) -> Tracing {
        let mut command = Command::new(env!("CARGO_BIN_EXE_jl"));
        command.args(options).args(["--duration", &seconds.to_string()]).args(script);
        let (child, said, lines) = spawn_attached(&mut command);
        // Keep draining stderr so jl never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        let mut preamble: Vec<String> = said.lines().map(str::to_string).collect();
        preamble.pop(); // the `Attached` line
        Tracing { child, preamble }
    }

    /// jl's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for jl to stop (its --duration) and returns its JSON output lines.
    pub(crate) fn finish(self) -> Vec<Value> {
        self.finish_text()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON line {line:?}: {e}")))
            .collect()
    }

    /// Waits for jl to stop (its --duration) and returns its standard output.
    pub(crate) fn finish_text(mut self) -> String {
        let mut out = String::new();
        self.child.stdout.take().expect("stdout").read_to_string(&mut out).expect("read stdout");
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "jl failed: {status}\n{out}");
        out
    }
}

/// The `data` object of the map named `name` in jl's JSON output.
pub(crate) fn map_data<'a>(lines: &'a [Value], name: &str) -> &'a Value {
    lines
        .iter()
        .find_map(|line| line["data"].get(name))
        .unwrap_or_else(|| panic!("no map {name} in output: {lines:#?}"))
}

/// A counter of the lost-data report in jl's JSON output (`probe_misses`, `map_full`, ...); 0 when jl printed
/// no report, which it does only when nothing was lost.
pub(crate) fn lost(lines: &[Value], counter: &str) -> u64 {
    let Some(report) = lines.iter().find(|line| line["type"] == "lost") else { return 0 };
    report["data"].get(counter).and_then(Value::as_u64).unwrap_or_else(|| panic!("no `{counter}` in {report}"))
}

/// The text of every `printf` record in jl's JSON output, in order.
pub(crate) fn printed(lines: &[Value]) -> Vec<&str> {
    lines.iter().filter(|line| line["type"] == "printf").filter_map(|line| line["data"].as_str()).collect()
}

fn getpid_syscall() {
    // SAFETY: getpid has no preconditions; the raw syscall avoids any libc caching.
    unsafe { libc::syscall(libc::SYS_getpid) };
}

#[test]
fn counts_exactly_the_syscalls_this_process_makes() {
    if !can_trace("counts_exactly_the_syscalls_this_process_makes") {
        return;
    }
    // This thread only: other tests of this binary spawn jl concurrently, and spawning calls getpid.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let tracing =
        Tracing::start(&format!("tracepoint:syscalls:sys_enter_getpid /tid == {tid}/ {{ @calls = count(); }}"), 2.0);
    for _ in 0..1000 {
        getpid_syscall();
    }
    let lines = tracing.finish();
    assert_eq!(map_data(&lines, "@calls"), &Value::from(1000), "{lines:#?}");
}

#[test]
fn histograms_and_stats_of_known_write_sizes() {
    if !can_trace("histograms_and_stats_of_known_write_sizes") {
        return;
    }
    let pid = std::process::id();
    let script = format!(
        "tracepoint:syscalls:sys_enter_write /pid == {pid} && args.fd == 999/ {{ @h = hist(args.count); @l = lhist(args.count, 0, 100, 10); @s = stats(args.count); @lo = min(args.count); @hi = max(args.count); @[comm] = sum(args.count); }}"
    );
    let tracing = Tracing::start(&script, 2.0);
    let buffer = [0u8; 64];
    // The last two sizes take the histogram's 16- and 32-bit steps.
    for size in [1usize, 3, 3, 17, 64, 70_000, 1 << 33] {
        // fd 999 is not open: the syscall fails with EBADF before reading the buffer, but the tracepoint still
        // fires with the arguments.
        // SAFETY: the kernel rejects the descriptor before touching the buffer.
        unsafe { libc::write(999, buffer.as_ptr().cast(), size) };
    }
    let lines = tracing.finish();
    let hist = map_data(&lines, "@h");
    let buckets: Vec<(i64, i64, i64)> = hist
        .as_array()
        .expect("hist array")
        .iter()
        .filter(|b| b["count"].as_i64() != Some(0))
        .map(|b| (b["min"].as_i64().unwrap_or(-1), b["max"].as_i64().unwrap_or(-1), b["count"].as_i64().unwrap_or(-1)))
        .collect();
    // JSON bucket bounds are inclusive, as in bpftrace: [2, 4) is {"min": 2, "max": 3}.
    let expected =
        vec![(1, 1, 1), (2, 3, 2), (16, 31, 1), (64, 127, 1), (65_536, 131_071, 1), (1 << 33, (1 << 34) - 1, 1)];
    assert_eq!(buckets, expected, "{hist:#}");
    let total = 88 + 70_000 + (1i64 << 33);
    let stats = map_data(&lines, "@s");
    assert_eq!(stats["count"], 7, "{stats}");
    assert_eq!(stats["total"], total, "{stats}");
    assert_eq!(map_data(&lines, "@lo"), &Value::from(1));
    assert_eq!(map_data(&lines, "@hi"), &Value::from(1i64 << 33));
    let lhist = map_data(&lines, "@l");
    let lhist_counts: Vec<(i64, i64)> = lhist
        .as_array()
        .expect("lhist array")
        .iter()
        .filter(|b| b["count"].as_i64() != Some(0))
        .map(|b| (b["min"].as_i64().unwrap_or(-1), b["count"].as_i64().unwrap_or(-1)))
        .collect();
    assert_eq!(lhist_counts, vec![(0, 3), (10, 1), (60, 1), (100, 2)], "{lhist:#}");
    let by_comm = map_data(&lines, "@");
    let comm = std::fs::read_to_string("/proc/thread-self/comm").expect("comm");
    assert_eq!(by_comm[comm.trim()], total, "{by_comm}");
}

#[test]
fn softirq_entry_counts_per_vector() {
    if !can_trace("softirq_entry_counts_per_vector") {
        return;
    }
    let tracing = Tracing::start("tracepoint:irq:softirq_entry { @[args.vec] = count(); }", 1.5);
    // Loopback traffic raises NET_RX (vector 3) softirqs.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    for _ in 0..20 {
        let _client = std::net::TcpStream::connect(address).expect("connect");
        let _ = listener.accept();
    }
    let lines = tracing.finish();
    let per_vector = map_data(&lines, "@").as_object().expect("keyed map");
    let net_rx = per_vector.get("3").and_then(Value::as_u64).unwrap_or(0);
    assert!(net_rx >= 20, "NET_RX softirqs: {per_vector:?}");
    for key in per_vector.keys() {
        assert!(key.parse::<u32>().is_ok_and(|vec| vec < 10), "vector {key} out of range");
    }
}

#[test]
fn timer_callback_durations_form_a_histogram() {
    if !can_trace("timer_callback_durations_form_a_histogram") {
        return;
    }
    // A recv timeout on a TCP socket sleeps in schedule_timeout(): process_timeout fires once per recv. One probe
    // keeps all three maps, so they see exactly the same callbacks: two probes share one window (the start/stop
    // gate), but the kernel may skip one of two programs for an event while another BPF program runs there.
    let tracing =
        Tracing::start(r#"timer("process_timeout") { @ = hist(dur); @calls = count(); @total = sum(dur); }"#, 2.0);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let stream = std::net::TcpStream::connect(listener.local_addr().expect("address")).expect("connect");
    stream.set_read_timeout(Some(Duration::from_millis(10))).expect("timeout");
    for _ in 0..20 {
        let _ = (&stream).read(&mut [0u8; 8]);
    }
    let lines = tracing.finish();
    let calls = map_data(&lines, "@calls").as_u64().expect("count");
    assert!(calls >= 20, "process_timeout ran {calls} times");
    let hist = map_data(&lines, "@").as_array().expect("hist");
    let in_hist: u64 = hist.iter().filter_map(|b| b["count"].as_u64()).sum();
    assert_eq!(in_hist, calls, "every callback lands in one bucket: {hist:?}");
    let total = map_data(&lines, "@total").as_u64().expect("sum");
    assert!(total > 0 && total / calls < 1_000_000, "mean callback time {} ns is implausible", total / calls);
}

#[test]
fn begin_printf_and_exit() {
    if !can_trace("begin_printf_and_exit") {
        return;
    }
    let (code, out, err) = run_jl(&["-e", r#"BEGIN { printf("hello %s %d %x\n", "world", 42, 255); exit(); }"#]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "hello world 42 ff\n\n\n");
    // bpftrace says `Attached 1 probe` before BEGIN runs; jl, which attaches nothing after BEGIN's exit(), says
    // it once BEGIN ran, as its JSON record does (bpftrace's test `other.positional as string literal`).
    assert_eq!(err, "Attached 1 probe\n");
    let (code, _, err) = run_jl(&["-q", "-e", "BEGIN { exit(); } interval:ms:10 { }"]);
    assert_eq!((code, err.as_str()), (0, ""), "-q keeps it out");
    let (code, _, err) = run_jl(&["-e", "BEGIN { exit(); } interval:ms:10 { }"]);
    assert_eq!((code, err.as_str()), (0, "Attached 2 probes\n"), "bpftrace counts the probe not attached");
}

#[test]
fn a_script_with_only_begin_and_end_ends_after_begin_as_in_bpftrace() {
    if !can_trace("a_script_with_only_begin_and_end_ends_after_begin_as_in_bpftrace") {
        return;
    }
    // Lowercase, as bpftrace 0.27 writes them; no exit(): nothing is attached, so END runs right after BEGIN.
    let started = std::time::Instant::now();
    let (code, out, err) = run_jl(&["-q", "-e", r#"begin { @n = 2; printf("begin\n"); } end { printf("end\n"); }"#]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "begin\nend\n\n\n@n: 2\n");
    assert!(!err.contains("Attached"), "-q keeps the attach line out: {err}");
    assert!(started.elapsed() < Duration::from_secs(5), "no waiting for a signal: {:?}", started.elapsed());
    // With a duration the run lasts it, probes or not.
    let started = std::time::Instant::now();
    let (code, _, err) = run_jl(&["--duration", "1", "-e", "BEGIN { @n = 1; }"]);
    assert_eq!(code, 0, "{err}");
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
    assert!(err.contains("Attached 1 probe\n"), "bpftrace counts BEGIN: {err}");
}

#[test]
fn interval_fires_at_its_period_and_end_runs() {
    if !can_trace("interval_fires_at_its_period_and_end_runs") {
        return;
    }
    let (code, out, err) = run_jl(&[
        "-f",
        "json",
        "-e",
        "interval:ms:100 { @ticks = count(); } interval:s:1 { exit(); } END { printf(\"end\\n\"); }",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    let ticks = map_data(&lines, "@ticks").as_u64().expect("count");
    assert!((8..=11).contains(&ticks), "100 ms ticks in 1 s: {ticks}");
    assert!(lines.iter().any(|l| l["type"] == "printf" && l["data"] == "end\n"), "{out}");
}

#[test]
fn missing_timer_function_is_a_clear_compile_error() {
    let (code, _, err) = run_jl(&["-e", r#"timer("estimation_timer") < hist(dur) >"#]);
    if err.contains("kallsyms") && err.contains("hidden") {
        eprintln!("SKIPPED: missing_timer_function_is_a_clear_compile_error: kernel symbols are hidden here");
        return;
    }
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("timer callback `estimation_timer` is not a symbol of this kernel"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

/// Where cgroup v2 is mounted, if it is.
fn cgroup2_mount() -> Option<std::path::PathBuf> {
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    let line = mounts.lines().find(|line| line.starts_with("cgroup2 "))?;
    line.split_whitespace().nth(1).map(std::path::PathBuf::from)
}

#[test]
fn cgroup_path_prints_the_cgroup_jl_runs_in() {
    if !can_trace("cgroup_path_prints_the_cgroup_jl_runs_in") {
        return;
    }
    let Some(mount) = cgroup2_mount() else {
        eprintln!("skipping cgroup_path_prints_the_cgroup_jl_runs_in: cgroup v2 is not mounted");
        return;
    };
    // A cgroup of our own, jl moved into it before it starts: `cgroup` is its id (the directory's inode number).
    let name = format!("jl-test-{}", std::process::id());
    let dir = mount.join(&name);
    std::fs::create_dir(&dir).expect("create a cgroup");
    let id = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&dir).expect("stat the cgroup"));
    let script = r#"begin { printf("%d %s\n", cgroup, cgroup_path(cgroup)); @[cgroup_path(cgroup, "unified")] = count();
        @mem = cgroup_path(cgroup, "mem*"); print(cgroup_path(cgroup, "unif*")); }"#;
    let output = Command::new("sh")
        .args(["-c", r#"echo $$ > "$1/cgroup.procs" && exec "$2" -q -f json -e "$3""#, "sh"])
        .arg(&dir)
        .args([env!("CARGO_BIN_EXE_jl"), script])
        .output()
        .expect("run jl in the cgroup");
    std::fs::remove_dir(&dir).expect("remove the cgroup");
    let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{err}");
    let lines: Vec<Value> = out.lines().map(|line| serde_json::from_str(line).expect("json")).collect();
    // Each cgroup v2 mount (a bind mount shows the hierarchy again) prints `unified:/NAME`; v1 hierarchies may
    // follow, where a directory has the same inode number, as in bpftrace.
    let unified = format!("unified:/{name}");
    let only_unified = |text: &str| !text.is_empty() && text.split(',').all(|path| path == unified);
    let printed = printed(&lines);
    let (printed_id, all) = printed[0].trim_end().split_once(' ').expect("id and path");
    assert_eq!(printed_id, id.to_string());
    assert!(all.starts_with(&unified), "v2 first: {all}");
    let value = lines.iter().find(|line| line["type"] == "value").expect("print()");
    assert!(only_unified(value["data"].as_str().expect("a string")), "{value}");
    let keys = map_data(&lines, "@").as_object().expect("keys");
    assert!(keys.len() == 1 && keys.keys().all(|key| only_unified(key)), "{keys:?}");
    let memory = map_data(&lines, "@mem").as_str().expect("a string");
    assert!(memory.split(',').all(|path| path.is_empty() || path.starts_with("memory:/")), "{memory}");
}
