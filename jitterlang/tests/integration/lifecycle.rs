//! Lifecycle: whatever stops `jl` (SIGINT, SIGTERM, SIGHUP, SIGKILL), none of its BPF programs or maps stay in
//! the kernel and nothing is pinned; the catchable signals still print the maps and exit 0, and so does a reader
//! closing jl's output (`| head`), quietly. Also: every golden
//! script passes the real verifier (`--dry-run`), and a full map is reported, not silently dropped, apart from
//! inserts the kernel refused with room left.

use crate::runtime::lost;
use crate::support::{data_dir, golden_header, run_jl, scripts, start_attached};
use jitterlib::kernel::{KernelInfo, LiveKernel};
use jitterlib::testing::{can_trace, skip};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A script on a tracepoint that fires all the time on any machine.
const BUSY_SCRIPT: &str = "tracepoint:irq:softirq_entry { @events = count(); }";

/// The BPF object ids (`prog_id:` and `map_id:` lines of /proc/PID/fdinfo) a process holds.
fn bpf_ids_held_by(pid: u32) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fdinfo")).expect("fdinfo").flatten() {
        let Ok(info) = std::fs::read_to_string(entry.path()) else { continue };
        for line in info.lines() {
            if let Some((kind @ ("prog_id" | "map_id"), id)) = line.split_once(':') {
                ids.insert(format!("{kind} {}", id.trim()));
            }
        }
    }
    ids
}

/// The ids of every BPF program and map the kernel has now, as `bpftool` lists them.
fn kernel_bpf_ids() -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for (what, kind) in [("prog", "prog_id"), ("map", "map_id")] {
        let output = Command::new("bpftool").args([what, "show", "-j"]).output().expect("run bpftool");
        let listed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("bpftool JSON");
        for object in listed.as_array().expect("array") {
            ids.insert(format!("{kind} {}", object["id"]));
        }
    }
    ids
}

/// Waits (the kernel frees programs asynchronously) until none of `ids` is listed, then asserts so.
fn assert_released(ids: &BTreeSet<String>, how: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<String> = kernel_bpf_ids().intersection(ids).cloned().collect();
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "after {how}, the kernel still has {left:?} of {ids:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Nothing of ours is pinned under /sys/fs/bpf.
fn assert_nothing_pinned() {
    let Ok(entries) = std::fs::read_dir("/sys/fs/bpf") else { return };
    let ours: Vec<String> = entries
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("jl"))
        .collect();
    assert!(ours.is_empty(), "pinned objects: {ours:?}");
}

fn stop_with(signal: libc::c_int, name: &str) {
    if !can_trace(&format!("detaches_on_{name}")) {
        return;
    }
    if Command::new("bpftool").arg("version").output().is_err() {
        skip(&format!("detaches_on_{name}"), "bpftool is not installed");
        return;
    }
    let mut child = start_attached(&["-f", "json", "-e", BUSY_SCRIPT]);
    let held = bpf_ids_held_by(child.id());
    assert!(held.iter().any(|id| id.starts_with("prog_id")), "jl holds no program: {held:?}");
    assert!(held.is_subset(&kernel_bpf_ids()), "{held:?} not all listed by bpftool");
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signalling our own child, which has not been waited for yet.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
    let mut out = String::new();
    child.stdout.take().expect("stdout").read_to_string(&mut out).expect("read stdout");
    let status = child.wait().expect("wait");
    if signal == libc::SIGKILL {
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
    } else {
        assert_eq!(status.code(), Some(0), "{name}: {status}\n{out}");
        let events = out
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find_map(|line| line["data"]["@events"].as_u64());
        assert!(events.is_some_and(|n| n > 0), "{name}: the maps were not printed: {out}");
    }
    assert_released(&held, name);
    assert_nothing_pinned();
}

#[test]
fn detaches_on_sigint() {
    stop_with(libc::SIGINT, "sigint");
}

#[test]
fn detaches_on_sigterm() {
    stop_with(libc::SIGTERM, "sigterm");
}

#[test]
fn detaches_on_sighup() {
    stop_with(libc::SIGHUP, "sighup");
}

#[test]
fn detaches_on_sigkill() {
    stop_with(libc::SIGKILL, "sigkill");
}

#[test]
fn every_golden_script_passes_the_verifier() {
    if !can_trace("every_golden_script_passes_the_verifier") {
        return;
    }
    let mut failures = Vec::new();
    let function_probes = LiveKernel::new().function_probes();
    for script in scripts(&data_dir("golden")) {
        let name = script.display();
        let source = std::fs::read_to_string(&script).expect("read script");
        // Scripts for a kernel where fentry (or kprobes) work; a kprobe one runs as `jl --no-fentry` would.
        let mechanism = golden_header(&source, "kernel");
        let needed = match mechanism {
            Some("fentry") => function_probes.fentry.reason(),
            Some(_) => function_probes.kprobe.reason(),
            None => None,
        };
        if let Some(why) = needed {
            eprintln!("SKIPPED: {name}: written for a kernel with {}, and here {why}", mechanism.unwrap_or_default());
            continue;
        }
        // --unsafe lets the signal()/system() scripts compile; a dry run only loads them.
        let output = Command::new(env!("CARGO_BIN_EXE_jl"))
            .args(["--dry-run", "--unsafe"])
            .args((mechanism == Some("kprobe")).then_some("--no-fentry"))
            .arg(&script)
            .output()
            .expect("run jl");
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("is not a symbol of this kernel") || stderr.contains("refused on this kernel") {
            eprintln!("SKIPPED: {name}: its probe cannot load on this kernel: {}", stderr.trim());
        } else if !output.status.success() {
            failures.push(format!("{name}: {}\n{stderr}", output.status));
        } else {
            assert!(stderr.contains("verifier accepted"), "{name}: {stderr}");
        }
    }
    assert!(failures.is_empty(), "rejected:\n{}", failures.join("\n"));
}

/// Runs `@[nsecs] = count()` on this thread's getppid calls (a new key each) for `calls` calls, with `options`,
/// and returns the `map_full` counter and the number of keys printed.
fn overflow_a_map(calls: u32, options: &[&str]) -> (u64, usize) {
    // getppid and the thread filter keep this apart from the other tests, which count getpid per process.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let script = format!("tracepoint:syscalls:sys_enter_getppid /tid == {tid}/ {{ @[nsecs] = count(); }}");
    let mut args = vec!["-f", "json", "-e", &script];
    args.extend_from_slice(options);
    let mut child = start_attached(&args);
    for _ in 0..calls {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    // Stopped after the last call, not after a fixed duration: on a loaded machine the loop can outlast any timer.
    // SAFETY: SIGINT to the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let mut out = String::new();
    child.stdout.take().expect("stdout").read_to_string(&mut out).expect("read stdout");
    assert!(child.wait().expect("wait").success(), "{out}");
    let records: Vec<serde_json::Value> =
        out.lines().filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok()).collect();
    let map_full = lost(&records, "map_full");
    let keys = records
        .iter()
        .find(|line| line["type"] == "map")
        .and_then(|map| map["data"]["@"].as_object().map(|keys| keys.len()))
        .unwrap_or(0);
    (map_full, keys)
}

#[test]
fn a_full_map_is_counted_as_lost() {
    if !can_trace("a_full_map_is_counted_as_lost") {
        return;
    }
    // More calls than the map's default 4 096 keys overflow it; every insert beyond is counted.
    assert_eq!(overflow_a_map(20_000, &[]), (20_000 - 4_096, 4_096));
}

#[test]
fn map_keys_sets_how_many_keys_a_map_holds() {
    if !can_trace("map_keys_sets_how_many_keys_a_map_holds") {
        return;
    }
    assert_eq!(overflow_a_map(20_000, &["--map-keys", "25000"]), (0, 20_000));
    assert_eq!(overflow_a_map(2_000, &["--map-keys", "1500"]), (500, 1_500));
}

#[test]
fn a_reader_that_goes_away_stops_the_run_quietly() {
    if !can_trace("a_reader_that_goes_away_stops_the_run_quietly") {
        return;
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_jl"))
        .args(["-e", r#"tracepoint:raw_syscalls:sys_enter { printf("%d\n", pid); }"#])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jl");
    let stderr = child.stderr.take().expect("stderr");
    let errors = std::thread::spawn(move || std::io::read_to_string(stderr).expect("read stderr"));
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("one line");
    assert!(first.trim().parse::<u32>().is_ok(), "not a pid: {first:?}");
    let held = bpf_ids_held_by(child.id());
    // The reader is gone (`jl ... | head -1`): jl must notice at its next write, detach and exit 0, quietly.
    let status = child.wait().expect("wait");
    let errors = errors.join().expect("stderr reader");
    assert_eq!(status.code(), Some(0), "{status}: {errors}");
    assert!(!errors.contains("Broken pipe") && !errors.contains("error"), "{errors}");
    assert_released(&held, "a closed pipe");
}

/// Several new keys in one run of a program with interrupts off, on each CPU's first runs: the kernel's allocator
/// for maps whose entries are allocated on insert has one per-CPU value ready per CPU and refills from an
/// irq_work that cannot run until the program returns, so it refused the second and later keys with `ENOMEM`
/// (`map_refused`). jl's keyed maps are preallocated: every key of every run is counted, in a sampling program
/// (hardirq) and in `sched_switch` (run with interrupts off), and nothing is refused.
#[test]
fn several_new_keys_in_one_run_are_all_counted() {
    if !can_trace("several_new_keys_in_one_run_are_all_counted") {
        return;
    }
    for probe in ["profile:hz:99", "tracepoint:sched:sched_switch"] {
        let script = format!(
            "{probe} {{ @[1] = count(); @[2] = count(); @[3] = count(); @[4] = count(); @[5] = count(); }} \
             interval:ms:500 {{ exit(); }}"
        );
        let output =
            Command::new(env!("CARGO_BIN_EXE_jl")).args(["-f", "json", "-e", &script]).output().expect("run jl");
        let out = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{out}\n{}", String::from_utf8_lossy(&output.stderr));
        let records: Vec<serde_json::Value> = out.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
        let counts: Vec<u64> = records
            .iter()
            .find(|line| line["type"] == "map")
            .and_then(|map| map["data"]["@"].as_object())
            .map_or_else(Vec::new, |keys| keys.values().filter_map(|count| count.as_u64()).collect());
        // No lost record means no counter rose (jl prints one only then).
        assert_eq!(lost(&records, "map_refused"), 0, "{probe}: {out}");
        assert_eq!(lost(&records, "map_full"), 0, "{probe}: {out}");
        assert_eq!(counts.len(), 5, "{probe}: every key is in the map: {out}");
        assert!(
            counts[0] > 0 && counts.iter().all(|&count| count == counts[0]),
            "{probe}: every run counted each key once: {out}"
        );
    }
}

#[test]
fn self_signal_probes_run_each_time_jl_gets_sigusr1() {
    if !can_trace("self_signal_probes_run_each_time_jl_gets_sigusr1") {
        return;
    }
    // A script of self probes alone keeps tracing (until --duration); each SIGUSR1 runs both blocks, in the order
    // written, in jl's own process (the pid the kernel reports is jl's).
    let tracing = crate::runtime::Tracing::start(
        "self:signal:SIGUSR1 { @runs = count(); @pid = pid; @kind = probetype; printf(\"first\"); }
         self:signal:SIGUSR1 { printf(\" second\\n\"); }",
        1.5,
    );
    let pid = tracing.pid();
    for _ in 0..2 {
        // SAFETY: kill has no memory preconditions; the pid is our own child's.
        assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGUSR1) }, 0);
        // Two signals before jl's loop looks count once: wait for it to run the first.
        std::thread::sleep(Duration::from_millis(400));
    }
    let lines = tracing.finish();
    assert_eq!(crate::runtime::map_data(&lines, "@runs"), &serde_json::json!(2), "{lines:#?}");
    assert_eq!(crate::runtime::map_data(&lines, "@pid"), &serde_json::json!(pid));
    assert_eq!(crate::runtime::map_data(&lines, "@kind"), &serde_json::json!("special"));
    assert_eq!(crate::runtime::printed(&lines), ["first", " second\n", "first", " second\n"]);
}

#[test]
fn verbose_says_how_long_compiling_and_attaching_took() {
    if !can_trace("verbose_says_how_long_compiling_and_attaching_took") {
        return;
    }
    let script = format!("{BUSY_SCRIPT} interval:ms:1 {{ exit(); }}");
    let started = Instant::now();
    let (code, _, stderr) = run_jl(&["-v", "-e", &script]);
    let whole_run_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let attached = lines.iter().position(|line| *line == "Attached 2 probes").expect("attached line");
    let line = lines.get(attached + 1).expect("a line after the attached line");
    let numbers: Vec<f64> = line
        .strip_prefix("jl: attached ")
        .unwrap_or_else(|| panic!("the timing line follows the attached line: {stderr}"))
        .split(" ms")
        .filter_map(|part| part.rsplit(' ').next().and_then(|number| number.parse().ok()))
        .collect();
    let [total, compiling, attaching] = numbers[..] else { panic!("three durations in {line:?}") };
    assert!(
        line.ends_with(&format!(
            "{total:.2} ms after start: {compiling:.2} ms reading and compiling the script, {attaching:.2} ms \
             loading and attaching"
        )),
        "{line}"
    );
    assert!(compiling > 0.0 && attaching > 0.0, "{line}");
    assert!((compiling + attaching - total).abs() <= 0.011, "the two steps make the whole: {line}");
    assert!(total < whole_run_ms, "{line}, while the whole run took {whole_run_ms:.2} ms");
}
