//! Runtime tests of the raw probe kinds: raw tracepoints typed from BTF and perf sampling count real
//! events; kprobe and fentry, which this host lacks or refuses, must fail with an error that says so and
//! what to use instead (they are exercised for real in the VM: tests/vm/scenarios/raw-probes.sh).

use std::path::Path;

use serde_json::Value;

use crate::runtime::{map_data, Tracing};
use crate::support::run_jl;
use jitterlib::testing::can_trace;

/// Where the kernel lists its kprobe PMU; absent without `CONFIG_KPROBES`.
const KPROBE_PMU: &str = "/sys/bus/event_source/devices/kprobe/type";

#[test]
fn rawtracepoint_sys_enter_counts_getppid_by_its_btf_typed_id() {
    if !can_trace("rawtracepoint_sys_enter_counts_getppid_by_its_btf_typed_id") {
        return;
    }
    // getppid from this thread only: other tests of this binary count getpid calls of the same process.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    // Also written with the module, as bpftrace (`vmlinux`: the kernel's own).
    let script = format!(
        "rawtracepoint:sys_enter /tid == {tid} && args.id == {id}/ {{ @calls = count(); }}
         rawtracepoint:vmlinux:sys_enter /tid == {tid} && args.id == {id}/ {{ @vmlinux = count(); }}",
        id = libc::SYS_getppid
    );
    let tracing = Tracing::start(&script, 2.0);
    for _ in 0..1000 {
        // SAFETY: getppid has no preconditions; the raw syscall avoids any libc caching.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    let lines = tracing.finish();
    assert_eq!(map_data(&lines, "@calls"), &Value::from(1000), "{lines:#?}");
    assert_eq!(map_data(&lines, "@vmlinux"), &Value::from(1000), "{lines:#?}");
}

#[test]
fn rawtp_sched_switch_sees_switches_and_task_pointers() {
    if !can_trace("rawtp_sched_switch_sees_switches_and_task_pointers") {
        return;
    }
    let tracing = Tracing::start(
        "rawtp:sched_switch { @switches = count(); @next_is_set[args.next != 0] = count(); \
         @same_task[args.prev == args.next] = count(); }",
        1.0,
    );
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let lines = tracing.finish();
    let switches = map_data(&lines, "@switches").as_u64().expect("count");
    assert!(switches >= 20, "only {switches} context switches in 1 s while sleeping 20 times");
    // Maps are read one after the other while switches go on, so their totals may differ by a few.
    let keys = |name: &str| map_data(&lines, name).as_object().expect("keyed map").keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys("@next_is_set"), ["true"], "every switch has a next task: {lines:?}");
    assert_eq!(keys("@same_task"), ["false"], "prev and next always differ: {lines:?}");
}

#[test]
fn profile_hz_99_samples_about_99_times_a_second_per_cpu() {
    if !can_trace("profile_hz_99_samples_about_99_times_a_second_per_cpu") {
        return;
    }
    let tracing = Tracing::start("profile:hz:99 { @samples = count(); @cpus[cpu] = count(); }", 1.0);
    let lines = tracing.finish();
    let samples = map_data(&lines, "@samples").as_u64().expect("count");
    let cpus = std::thread::available_parallelism().map_or(1, usize::from) as u64;
    // Idle CPUs may defer their clock a little; a busy CPU samples 99 times in 1 s.
    assert!((50..=99 * cpus * 13 / 10).contains(&samples), "{samples} samples in 1 s on {cpus} CPUs");
    let per_cpu = map_data(&lines, "@cpus").as_object().expect("keyed map");
    assert!(per_cpu.keys().all(|cpu| cpu.parse::<u64>().is_ok_and(|cpu| cpu < cpus)), "{per_cpu:?}");
}

#[test]
fn profile_on_one_cpu_samples_only_that_cpu() {
    if !can_trace("profile_on_one_cpu_samples_only_that_cpu") {
        return;
    }
    let tracing = Tracing::start("profile:hz:199:0 { @cpus[cpu] = count(); }", 1.0);
    let lines = tracing.finish();
    let per_cpu = map_data(&lines, "@cpus").as_object().expect("keyed map");
    assert_eq!(per_cpu.keys().collect::<Vec<_>>(), ["0"], "{per_cpu:?}");
    let samples = per_cpu["0"].as_u64().expect("count");
    assert!((100..=260).contains(&samples), "{samples} samples on CPU 0 in 1 s at 199 Hz");
}

#[test]
fn software_page_faults_count_each_fault_of_this_thread() {
    if !can_trace("software_page_faults_count_each_fault_of_this_thread") {
        return;
    }
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let tracing = Tracing::start(&format!("software:page-faults:1 /tid == {tid}/ {{ @faults = count(); }}"), 1.0);
    // Fresh anonymous pages: the first write to each is one minor fault.
    const PAGES: usize = 2000;
    let page = 4096;
    // SAFETY: an anonymous private mapping, written within its length and unmapped after.
    unsafe {
        let memory = libc::mmap(
            std::ptr::null_mut(),
            PAGES * page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(memory, libc::MAP_FAILED, "mmap");
        for index in 0..PAGES {
            memory.cast::<u8>().add(index * page).write_volatile(1);
        }
        libc::munmap(memory, PAGES * page);
    }
    let lines = tracing.finish();
    let faults = map_data(&lines, "@faults").as_u64().expect("count");
    assert!((PAGES as u64..PAGES as u64 + 200).contains(&faults), "{faults} faults for {PAGES} fresh pages");
}

/// bpftrace's scientific count: `software:cpu-clock:1e7` samples every 10 ms of CPU time, so half a second of
/// this thread spinning is about 50 samples of it.
#[test]
fn software_count_in_scientific_notation_is_the_period() {
    if !can_trace("software_count_in_scientific_notation_is_the_period") {
        return;
    }
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let tracing = Tracing::start(&format!("software:cpu-clock:1e7 /tid == {tid}/ {{ @samples = count(); }}"), 1.5);
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_millis(500) {
        std::hint::black_box(start.elapsed());
    }
    let lines = tracing.finish();
    let samples = map_data(&lines, "@samples").as_u64().expect("count");
    // The thread may be preempted for a while on this shared machine; it is never sampled more than 50 times.
    assert!((20..=55).contains(&samples), "{samples} samples of 500 ms of CPU every 10 ms");
}

#[test]
fn hardware_counters_sample_or_say_the_cpu_has_none() {
    if !can_trace("hardware_counters_sample_or_say_the_cpu_has_none") {
        return;
    }
    let (code, stdout, stderr) = run_jl(&["--duration", "0.5", "-e", "hardware:instructions:100000 { @ = count(); }"]);
    if code == 1 && stderr.contains("does not count `instructions`") {
        assert!(stderr.contains("software:"), "the error names what works instead: {stderr}");
        eprintln!("SKIPPED: hardware_counters_sample_or_say_the_cpu_has_none: no PMU here ({})", stderr.trim());
        return;
    }
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("@: "), "instructions were sampled: {stdout}");
}

#[test]
fn kprobe_without_kprobes_fails_and_names_the_alternatives() {
    if !can_trace("kprobe_without_kprobes_fails_and_names_the_alternatives") {
        return;
    }
    if Path::new(KPROBE_PMU).exists() {
        eprintln!("SKIPPED: kprobe_without_kprobes_fails_and_names_the_alternatives: this kernel has kprobes");
        return;
    }
    let (code, _, stderr) = run_jl(&["--duration", "1", "-e", "kprobe:icmp_rcv { @ = count(); }"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("to kprobe:icmp_rcv: kprobes are not available on this kernel"), "{stderr}");
    assert!(stderr.contains("fentry:") && stderr.contains("rawtracepoint:NAME"), "{stderr}");
}

#[test]
fn refused_fentry_and_kfunc_say_no_mechanism_is_left() {
    if !can_trace("refused_fentry_and_kfunc_say_no_mechanism_is_left") {
        return;
    }
    let kprobes = Path::new(KPROBE_PMU).exists();
    for script in ["fentry:ip_rcv { @ = count(); }", "kfunc:ip_rcv { @ = count(); }", "fexit:ip_rcv { @ = count(); }"] {
        let (code, _, stderr) = run_jl(&["-v", "--duration", "0.2", "-e", script]);
        if code == 0 && !stderr.contains("uses a kprobe; fentry not used") {
            eprintln!("SKIPPED: refused_fentry_and_kfunc_say_no_mechanism_is_left: fentry works here ({script})");
            return;
        }
        match (kprobes, script.starts_with("kfunc")) {
            // kfunc falls back to the kprobe by itself, and -v says why.
            (true, true) => {
                assert_eq!(code, 0, "{script}: {stderr}");
                assert!(stderr.contains("kfunc:ip_rcv uses a kprobe; fentry not used: "), "{script}: {stderr}");
            }
            (true, false) => {
                assert_eq!(code, 1, "{script}: {stderr}");
                assert!(stderr.contains("fentry/fexit programs are refused on this kernel (EPERM)"), "{stderr}");
                assert!(stderr.contains("probe:ip_rcv` instead"), "{script}: {stderr}");
            }
            (false, _) => {
                assert_eq!(code, 1, "{script}: {stderr}");
                assert!(stderr.contains("fentry/fexit programs are refused on this kernel (EPERM)"), "{stderr}");
                assert!(stderr.contains("and it has no kprobes either"), "{script}: {stderr}");
                assert!(stderr.contains("rawtracepoint:NAME") && stderr.contains("tp_btf:NAME"), "{script}: {stderr}");
            }
        }
    }
}
