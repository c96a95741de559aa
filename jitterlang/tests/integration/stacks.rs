//! Kernel stacks: `kstack` keys resolved to symbols, folded output and the SVG flame graph.

use crate::runtime::{map_data, printed, Tracing};
use crate::support::{jl_with_mechanism, spawn_attached};
use jitterlib::testing::can_trace;
use serde_json::Value;

fn busy_in_syscalls(iterations: u32) {
    for _ in 0..iterations {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
}

#[test]
fn kstack_keys_resolve_to_kernel_symbols() {
    if !can_trace("kstack_keys_resolve_to_kernel_symbols") {
        return;
    }
    let tid = unsafe { libc::gettid() };
    let tracing = Tracing::start(
        &format!("tracepoint:syscalls:sys_enter_getppid /tid == {tid}/ {{ @[kstack] = count(); }}"),
        1.5,
    );
    busy_in_syscalls(200);
    let lines = tracing.finish();
    let stacks = map_data(&lines, "@").as_object().expect("keyed map").clone();
    let syscall_stack = stacks.iter().find(|(key, _)| key.contains("do_syscall_64"));
    assert!(syscall_stack.is_some(), "a stack through do_syscall_64: {stacks:#?}");
    let total: u64 = stacks.values().filter_map(Value::as_u64).sum();
    assert_eq!(total, 200, "every call counted once: {stacks:#?}");
}

/// A kernel stack starts where the event happened, whichever way the program runs: jl skips the frames of its own
/// program and of the kernel code that ran it (`bpf_prog_...`, `bpf_trace_runN`), which the kernel records above
/// the event in raw tracepoint and tp_btf programs and in the syscall events' programs tail-called by their
/// dispatcher. Each syscall event's mechanism (`-v` names it) is forced with `JL_TRACEPOINT_MECHANISM`.
#[test]
fn kstack_starts_below_jls_own_program() {
    if !can_trace("kstack_starts_below_jls_own_program") {
        return;
    }
    let tid = unsafe { libc::gettid() };
    let scripts = [
        format!("tracepoint:syscalls:sys_enter_getppid /tid == {tid}/ {{ @[kstack] = count(); }}"),
        format!("tracepoint:syscalls:sys_exit_getppid /tid == {tid}/ {{ @[kstack] = count(); }}"),
        format!(
            "tracepoint:raw_syscalls:sys_enter /tid == {tid} && args.id == {}/ {{ @[kstack] = count(); }}",
            libc::SYS_getppid
        ),
        format!("rawtracepoint:sys_enter /tid == {tid}/ {{ @[kstack] = count(); }}"),
    ];
    for mechanism in ["tp_btf", "raw", "perf"] {
        for script in &scripts {
            let mut command =
                jl_with_mechanism(Some(mechanism), &["-v", "-f", "json", "--duration", "1", "-e", script]);
            let (child, said, lines) = spawn_attached(&mut command);
            std::thread::spawn(move || for _ in lines {});
            busy_in_syscalls(20);
            let output = child.wait_with_output().expect("jl ends");
            let out = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success(), "{mechanism} {script}: {said}");
            let lines: Vec<Value> = out.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
            let stacks = map_data(&lines, "@").as_object().expect("keyed map").clone();
            let syscalls: Vec<&String> = stacks.keys().filter(|key| key.contains("do_syscall_64")).collect();
            assert!(!syscalls.is_empty(), "{mechanism} {script}: no stack through do_syscall_64: {stacks:#?}\n{said}");
            for key in syscalls {
                let first = frames(key)[0];
                assert!(!first.starts_with("bpf_"), "{mechanism} {script}: first frame {first}: {key}\n{said}");
            }
        }
    }
}

#[test]
fn folded_output_and_flamegraph_svg() {
    if !can_trace("folded_output_and_flamegraph_svg") {
        return;
    }
    let svg = std::env::temp_dir().join(format!("jl-flame-{}.svg", std::process::id()));
    let tid = unsafe { libc::gettid() };
    let script = format!("tracepoint:syscalls:sys_enter_getppid /tid == {tid}/ {{ @[comm, kstack] = count(); }}");
    let svg_arg = svg.display().to_string();
    let tracing = Tracing::start_with(&["-f", "folded", "--flamegraph", &svg_arg], &script, 1.5);
    busy_in_syscalls(50);
    let folded = tracing.finish_text();
    let comm = std::fs::read_to_string("/proc/thread-self/comm").expect("comm");
    let line = folded
        .lines()
        .find(|line| line.starts_with(comm.trim()))
        .unwrap_or_else(|| panic!("no folded line for {comm}: {folded}"));
    assert!(line.contains(";do_syscall_64") || line.contains("entry_SYSCALL"), "{line}");
    assert!(line.ends_with(" 50"), "count at the end: {line}");
    let svg_text = std::fs::read_to_string(&svg).expect("svg written");
    assert!(svg_text.contains("<svg") && svg_text.contains("do_syscall_64"), "flame graph has the frames");
    let _ = std::fs::remove_file(&svg);
}

/// The frames of a stack key as jl prints it (one `symbol+offset` a line).
fn frames(key: &str) -> Vec<&str> {
    key.lines().map(str::trim).filter(|line| !line.is_empty()).collect()
}

/// Sleeps twice per round, in two ways whose kernel stacks share their innermost frames (the scheduler's) and
/// differ below them (nanosleep and poll).
fn sleep_two_ways(rounds: u32) {
    for _ in 0..rounds {
        std::thread::sleep(std::time::Duration::from_millis(1));
        // SAFETY: poll with no descriptors only sleeps for the timeout.
        unsafe { libc::poll(std::ptr::null_mut(), 0, 1) };
    }
}

#[test]
fn kstack_limit_aggregates_stacks_that_differ_below_it() {
    if !can_trace("kstack_limit_aggregates_stacks_that_differ_below_it") {
        return;
    }
    let tid = unsafe { libc::gettid() };
    let script = format!(
        "tracepoint:sched:sched_switch /args.prev_pid == {tid}/ {{ @two[kstack(2)] = count(); @full[kstack] = count(); }}"
    );
    let tracing = Tracing::start(&script, 1.5);
    sleep_two_ways(20);
    let lines = tracing.finish();
    let two = map_data(&lines, "@two").as_object().expect("keyed map").clone();
    let full = map_data(&lines, "@full").as_object().expect("keyed map").clone();
    for (key, count) in &two {
        assert!(frames(key).len() <= 2, "kstack(2) keeps 2 frames: {key:?}");
        // Every full stack whose first two frames are these was counted under this key, and only those.
        let below: u64 = full
            .iter()
            .filter(|(stack, _)| frames(stack).get(..2).unwrap_or(&frames(stack)) == frames(key))
            .filter_map(|(_, count)| count.as_u64())
            .sum();
        assert_eq!(count.as_u64(), Some(below), "{key:?}: @two {two:#?} @full {full:#?}");
    }
    // Both sleeps reach the sched_switch tracepoint through the same innermost frames, whatever this kernel
    // build puts there (`schedule` on Debian 6.1; the tracepoint iterator and `__schedule` when a second probe
    // sits on the tracepoint): the busiest two-frame key must hold both, as distinct full stacks.
    let (sleep_key, sleep_count) = two
        .iter()
        .max_by_key(|(_, count)| count.as_u64().unwrap_or(0))
        .unwrap_or_else(|| panic!("no stack of the sleeping thread: {full:#?}"));
    assert!(sleep_count.as_u64().unwrap_or(0) >= 40, "both kinds of sleep under one key: {sleep_key:?} {two:#?}");
    let below: Vec<&String> =
        full.keys().filter(|stack| frames(stack).get(..2) == Some(&frames(sleep_key)[..])).collect();
    let through = |syscall: &str| below.iter().any(|stack| stack.contains(syscall));
    assert!(
        below.len() >= 2 && through("nanosleep") && through("poll"),
        "nanosleep and poll stacks differ in full, below {sleep_key:?}: {full:#?}"
    );
}

#[test]
fn printf_prints_a_kernel_stack() {
    if !can_trace("printf_prints_a_kernel_stack") {
        return;
    }
    let tid = unsafe { libc::gettid() };
    let script = format!("tracepoint:syscalls:sys_enter_getppid /tid == {tid}/ {{ printf(\"<%s>\\n\", kstack(3)); }}");
    let tracing = Tracing::start(&script, 1.5);
    busy_in_syscalls(3);
    let lines = tracing.finish();
    let printed = printed(&lines);
    assert_eq!(printed.len(), 3, "{lines:#?}");
    for text in printed {
        let inner =
            text.strip_prefix("<\n").and_then(|rest| rest.strip_suffix(">\n")).unwrap_or_else(|| panic!("{text:?}"));
        assert_eq!(frames(inner).len(), 3, "three frames, one a line, as in a map key: {text:?}");
        assert!(inner.lines().all(|line| line.starts_with("        ")), "indented like bpftrace: {text:?}");
    }
}

/// The kernel's symbols, `name -> address`, from /proc/kallsyms (root sees the addresses).
fn kallsyms() -> std::collections::HashMap<String, u64> {
    let text = std::fs::read_to_string("/proc/kallsyms").expect("read /proc/kallsyms");
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let addr = u64::from_str_radix(fields.next()?, 16).ok()?;
            let name = fields.nth(1)?;
            Some((name.to_string(), addr))
        })
        .collect()
}

/// `kstack(raw)` (bpftrace's raw stack mode): every frame a line of bare hex, not indented, and each address is
/// the one the same event's `kstack` names as `symbol+offset` (checked against /proc/kallsyms), so the two maps
/// count the same stacks.
#[test]
fn kstack_raw_prints_the_addresses_kstack_names() {
    if !can_trace("kstack_raw_prints_the_addresses_kstack_names") {
        return;
    }
    let tid = unsafe { libc::gettid() };
    let script = format!(
        "tracepoint:syscalls:sys_enter_getppid /tid == {tid}/ {{ @sym[kstack(3)] = count(); @raw[kstack(raw, 3)] = count(); }}"
    );
    let tracing = Tracing::start(&script, 1.5);
    busy_in_syscalls(100);
    let lines = tracing.finish();
    let symbolized = map_data(&lines, "@sym").as_object().expect("keyed map").clone();
    let raw = map_data(&lines, "@raw").as_object().expect("keyed map").clone();
    let symbols = kallsyms();
    let mut expected: Vec<(String, u64)> = symbolized
        .iter()
        .map(|(key, count)| {
            let addresses: Vec<String> = frames(key)
                .iter()
                .map(|frame| {
                    let (name, offset) = frame.split_once('+').unwrap_or_else(|| panic!("symbol+offset: {key:?}"));
                    let base = symbols.get(name).unwrap_or_else(|| panic!("{name} in /proc/kallsyms"));
                    format!("{:x}", base + offset.parse::<u64>().expect("decimal offset"))
                })
                .collect();
            (format!("\n{}\n", addresses.join("\n")), count.as_u64().expect("count"))
        })
        .collect();
    let mut got: Vec<(String, u64)> =
        raw.iter().map(|(key, count)| (key.clone(), count.as_u64().expect("count"))).collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "@raw holds @sym's stacks as bare addresses: {raw:#?} {symbolized:#?}");
    assert_eq!(got.iter().map(|(_, count)| count).sum::<u64>(), 100, "every call counted once: {raw:#?}");
}
