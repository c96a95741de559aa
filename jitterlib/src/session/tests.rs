//! Runtime tests against the running kernel. They need root and skip loudly without it.

use std::path::Path;
use std::time::{Duration, Instant};

use super::fixtures::{self, HELLO};
use super::*;
use crate::insn::Program;
use crate::kernel::LiveKernel;
use crate::maps::{HashAllocation, MapKind, MapSpec};
use crate::object::{write_object, ProgramSection};
use crate::sys;
use crate::testing::{can_trace, skip};

fn has_tracefs(test: &str) -> bool {
    let mounted = Path::new("/sys/kernel/tracing/events").is_dir();
    if !mounted {
        skip(test, "tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)");
    }
    mounted
}

/// Writes an object from `(name, attach, program)` triples and returns it with the matching specs.
fn build(programs: &[(&str, Attach, Program)], maps: &[MapSpec]) -> (Vec<u8>, Vec<ProgramSpec>) {
    let sections: Vec<String> = programs.iter().map(|(_, attach, _)| attach.section_name()).collect();
    let placed: Vec<ProgramSection> = programs
        .iter()
        .zip(&sections)
        .map(|((name, _, program), section)| ProgramSection { name, section, program })
        .collect();
    let specs = programs
        .iter()
        .map(|(name, attach, _)| ProgramSpec { name: name.to_string(), attach: attach.clone() })
        .collect();
    let allocation = HashAllocation::for_machine(&LiveKernel::new());
    (write_object(&placed, maps, allocation).expect("object is written"), specs)
}

fn load(programs: &[(&str, Attach, Program)], maps: &[MapSpec]) -> Session {
    let (object, specs) = build(programs, maps);
    Session::load(&object, &specs).unwrap_or_else(|e| panic!("load failed: {e}"))
}

fn sys_enter() -> Attach {
    Attach::Tracepoint { category: "raw_syscalls".into(), name: "sys_enter".into() }
}

/// Sum of all per-CPU `u64` values under every key.
fn total_count(entries: &MapEntries) -> u64 {
    match entries {
        MapEntries::PerCpu(entries) => entries
            .iter()
            .flat_map(|(_, values)| values)
            .map(|v| u64::from_le_bytes(v.as_slice().try_into().expect("8-byte value")))
            .sum(),
        MapEntries::Empty => 0,
        MapEntries::Shared(_) => panic!("per-CPU map read as shared"),
    }
}

fn make_syscalls() {
    for _ in 0..100 {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    }
}

#[test]
fn tracepoint_counter_sees_syscalls() {
    if !can_trace("tracepoint_counter_sees_syscalls") || !has_tracefs("tracepoint_counter_sees_syscalls") {
        return;
    }
    let mut session =
        load(&[("count_enter", sys_enter(), fixtures::count_into(0))], &[fixtures::counter_map("counts")]);
    session.attach_all().unwrap_or_else(|e| panic!("attach failed: {e}"));
    make_syscalls();
    let entries = session.read_map("counts").expect("map is readable");
    let MapEntries::PerCpu(ref per_cpu) = entries else { panic!("expected per-CPU entries, got {entries:?}") };
    assert_eq!(per_cpu.len(), 1);
    assert_eq!(per_cpu[0].0, 0u32.to_le_bytes());
    assert_eq!(per_cpu[0].1.len(), aya::util::nr_cpus().expect("possible CPUs"));
    assert!(total_count(&entries) >= 100, "count was {}", total_count(&entries));

    session.clear_map("counts").expect("map is cleared");
}

#[test]
fn raw_tracepoint_and_perf_clock_fire() {
    if !can_trace("raw_tracepoint_and_perf_clock_fire") {
        return;
    }
    let mut session = load(
        &[
            ("raw_enter", Attach::RawTracepoint { name: "sys_enter".into() }, fixtures::count_into(0)),
            (
                "tick",
                Attach::Perf { counter: PerfCounter::CpuClock, period: 1_000_000, cpu: None },
                fixtures::count_into(1),
            ),
        ],
        &[fixtures::counter_map("syscalls"), fixtures::counter_map("ticks")],
    );
    session.attach_all().unwrap_or_else(|e| panic!("attach failed: {e}"));
    make_syscalls();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(50) {
        std::hint::spin_loop();
    }
    assert!(total_count(&session.read_map("syscalls").expect("readable")) >= 100);
    assert!(total_count(&session.read_map("ticks").expect("readable")) > 0);
    // The map is created with the flags the allocation chose for it (preallocated: small and keyed).
    let (ticks, _) = session.readable_map("ticks", "inspecting").expect("ticks map");
    let flags = ticks.info().expect("map info").map_flags();
    let expected = HashAllocation::for_machine(&LiveKernel::new()).map_flags(&fixtures::counter_map("ticks"));
    assert_eq!(flags, expected, "map_flags of the ticks map");
}

#[test]
fn tp_btf_counter_sees_syscalls() {
    if !can_trace("tp_btf_counter_sees_syscalls") {
        return;
    }
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        eprintln!("SKIPPED: tp_btf_counter_sees_syscalls: no kernel BTF");
        return;
    }
    let attach = Attach::TpBtf { name: "sys_enter".into() };
    let mut session = load(&[("btf_enter", attach, fixtures::count_into(0))], &[fixtures::counter_map("counts")]);
    session.attach_all().unwrap_or_else(|e| panic!("attach failed: {e}"));
    make_syscalls();
    assert!(total_count(&session.read_map("counts").expect("readable")) >= 100);
}

#[test]
fn manual_program_runs_and_writes_a_map() {
    if !can_trace("manual_program_runs_and_writes_a_map") {
        return;
    }
    let session =
        load(&[("begin", Attach::Manual, fixtures::store_into(0, 7, 42, 5))], &[fixtures::hash_map("values")]);
    assert_eq!(session.run("begin").expect("test run works"), 5);
    assert_eq!(
        session.read_map("values").expect("readable"),
        MapEntries::Shared(vec![(7u32.to_le_bytes().to_vec(), 42u64.to_le_bytes().to_vec())])
    );
    session.clear_map("values").expect("cleared");
    assert_eq!(session.read_map("values").expect("readable"), MapEntries::Empty);
}

#[test]
fn ring_buffer_records_arrive() {
    if !can_trace("ring_buffer_records_arrive") {
        return;
    }
    let mut session = load(&[("emit", Attach::Manual, fixtures::ringbuf_hello(0))], &[fixtures::ring_map("events")]);
    let mut reader = session.ring_buffer("events").expect("ring reader");
    let mut records = Vec::new();
    assert_eq!(reader.poll(Duration::from_millis(10), &mut |r| records.push(r.to_vec())).expect("poll"), 0);
    session.run("emit").expect("runs");
    session.run("emit").expect("runs");
    let delivered = reader.poll(Duration::from_secs(1), &mut |r| records.push(r.to_vec())).expect("poll");
    assert_eq!(delivered, 2);
    assert_eq!(records, vec![HELLO.to_vec(), HELLO.to_vec()]);
    assert!(matches!(session.ring_buffer("events"), Err(SessionError::MapNotFound { .. })));
}

#[test]
fn verifier_rejection_carries_the_log() {
    if !can_trace("verifier_rejection_carries_the_log") {
        return;
    }
    let (object, specs) = build(&[("bad", Attach::Manual, fixtures::reads_uninitialised_register())], &[]);
    match Session::load(&object, &specs) {
        Err(SessionError::Verifier { program, log }) => {
            assert_eq!(program, "bad");
            assert!(log.contains("R2 !read_ok"), "unexpected log: {log}");
        }
        Err(other) => panic!("expected a verifier error, got {other}"),
        Ok(_) => panic!("the verifier accepted a program reading an uninitialised register"),
    }
}

fn loaded_program_ids() -> Vec<u32> {
    let mut ids = Vec::new();
    let mut next = 0;
    while let Some(id) = sys::prog_next_id(next).expect("BPF_PROG_GET_NEXT_ID") {
        ids.push(id);
        next = id;
    }
    ids
}

#[test]
fn dropping_the_session_unloads_and_detaches() {
    if !can_trace("dropping_the_session_unloads_and_detaches")
        || !has_tracefs("dropping_the_session_unloads_and_detaches")
    {
        return;
    }
    let mut session =
        load(&[("count_enter", sys_enter(), fixtures::count_into(0))], &[fixtures::counter_map("counts")]);
    session.attach_all().expect("attached");
    let program = session.ebpf.program("count_enter").expect("program");
    let id = program.info().expect("program info").id();
    assert!(loaded_program_ids().contains(&id));
    drop(session);
    // The kernel frees programs after an RCU grace period.
    let started = Instant::now();
    while loaded_program_ids().contains(&id) {
        assert!(started.elapsed() < Duration::from_secs(5), "program {id} still loaded after drop");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn kprobe_on_a_kernel_without_kprobes_says_so() {
    if !can_trace("kprobe_on_a_kernel_without_kprobes_says_so") {
        return;
    }
    if Path::new("/sys/bus/event_source/devices/kprobe/type").exists() {
        eprintln!("SKIPPED: kprobe_on_a_kernel_without_kprobes_says_so: this kernel has kprobes");
        return;
    }
    let attach = Attach::Kprobe { function: "do_sys_openat2".into() };
    let (object, specs) = build(&[("probe", attach, fixtures::count_into(0))], &[fixtures::counter_map("counts")]);
    let error = match Session::load(&object, &specs) {
        Ok(mut session) => session.attach("probe").expect_err("attach must fail"),
        Err(error) => error,
    };
    let message = error.to_string();
    assert!(
        message.contains("kprobes are not available on this kernel (no kprobe_events in tracefs, no kprobe PMU); try"),
        "unexpected message: {message}"
    );
}

#[test]
fn refused_fentry_says_what_to_use_instead() {
    if !can_trace("refused_fentry_says_what_to_use_instead") {
        return;
    }
    let attach = Attach::Fentry { function: "do_sys_openat2".into() };
    let (object, specs) = build(&[("entry", attach, fixtures::noop())], &[]);
    match Session::load(&object, &specs) {
        Ok(_) => eprintln!("SKIPPED: refused_fentry_says_what_to_use_instead: fentry loads on this kernel"),
        Err(error) => assert!(
            error.to_string().contains("fentry/fexit programs are refused on this kernel (EPERM)")
                && error.to_string().contains("fentry:do_sys_openat2"),
            "unexpected message: {error}"
        ),
    }
}

#[test]
fn missing_tracepoint_names_it_and_suggests_a_listing() {
    if !can_trace("missing_tracepoint_names_it_and_suggests_a_listing")
        || !has_tracefs("missing_tracepoint_names_it_and_suggests_a_listing")
    {
        return;
    }
    let attach = Attach::Tracepoint { category: "irq".into(), name: "no_such_event".into() };
    let mut session = load(&[("p", attach, fixtures::noop())], &[]);
    let message = session.attach("p").expect_err("must fail").to_string();
    assert_eq!(
        message,
        "cannot attach program `p` to tracepoint:irq:no_such_event: this kernel has no tracepoint \
         `irq:no_such_event`; list them with `jl -l 'tracepoint:irq:*'`"
    );
}

#[test]
fn misuse_gives_named_errors() {
    if !can_trace("misuse_gives_named_errors") {
        return;
    }
    let mut session = load(
        &[
            ("begin", Attach::Manual, fixtures::noop()),
            (
                "tick",
                Attach::Perf { counter: PerfCounter::CpuClock, period: 1_000_000, cpu: Some(0) },
                fixtures::noop(),
            ),
        ],
        &[fixtures::ring_map("events"), fixtures::hash_map("values")],
    );
    assert!(matches!(session.attach("begin"), Err(SessionError::WrongMode { actual: "manual", .. })));
    assert!(matches!(session.run("tick"), Err(SessionError::WrongMode { actual: "attachable", .. })));
    assert!(matches!(session.run("nope"), Err(SessionError::ProgramNotFound { .. })));
    assert!(matches!(session.read_map("nope"), Err(SessionError::MapNotFound { .. })));
    assert!(matches!(session.read_map("events"), Err(SessionError::UnsupportedMap { .. })));
    assert!(matches!(session.ring_buffer("values"), Err(SessionError::UnsupportedMap { .. })));
    assert!(session.read_map("values").is_ok(), "a refused ring reader must leave the map in place");
}

#[test]
fn measure_load_and_attach() {
    if !can_trace("measure_load_and_attach") || !has_tracefs("measure_load_and_attach") {
        return;
    }
    let (object, specs) = build(
        &[
            ("count_enter", sys_enter(), fixtures::count_into(0)),
            ("raw_enter", Attach::RawTracepoint { name: "sys_enter".into() }, fixtures::count_into(1)),
        ],
        &[fixtures::counter_map("a"), fixtures::counter_map("b")],
    );
    let mut timings = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let mut session = Session::load(&object, &specs).expect("loads");
        let loaded = started.elapsed();
        session.attach_all().expect("attaches");
        timings.push((loaded, started.elapsed()));
    }
    let started = Instant::now();
    let loader = aya::EbpfLoader::new();
    let loader_new = started.elapsed();
    drop(loader);
    eprintln!("MEASURED: EbpfLoader::new() (parses vmlinux BTF): {loader_new:?}");
    let started = Instant::now();
    drop(super::loader::loader());
    eprintln!("MEASURED: the session's loader (built where Landlock hides the BTF): {:?}", started.elapsed());
    for (loaded, attached) in timings {
        eprintln!("MEASURED: 2-program Session::load {loaded:?}, load+attach_all {attached:?}");
    }
}

#[test]
fn big_hash_maps_are_read_whole_in_batches() {
    if !can_trace("big_hash_maps_are_read_whole_in_batches") {
        return;
    }
    // More keys than one batch holds, in a plain and a per-CPU hash: every key must come back once, with its value.
    let keys = 3 * 4096 + 17;
    let map = |name: &str, kind| MapSpec {
        name: name.into(),
        kind,
        key_size: 4,
        value_size: 8,
        max_entries: 20_000,
        on_insert: true,
    };
    let session = load(
        &[("begin", Attach::Manual, fixtures::noop())],
        &[map("plain", MapKind::Hash), map("percpu", MapKind::PerCpuHash)],
    );
    let cpus = aya::util::nr_cpus().expect("possible CPUs");
    for name in ["plain", "percpu"] {
        let (data, _) = session.readable_map(name, "filling").expect("map");
        let slots = if name == "percpu" { cpus } else { 1 };
        for key in 0..keys as u32 {
            let value: Vec<u8> = (0..slots).flat_map(|_| u64::from(key * 2).to_le_bytes()).collect();
            sys::map_update(data.fd().as_fd(), &key.to_le_bytes(), &value).expect("update");
        }
    }
    let key_of = |key: &[u8]| u32::from_le_bytes(key.try_into().expect("4-byte key"));
    let value_of = |value: &[u8]| u64::from_le_bytes(value.try_into().expect("8-byte value"));
    let MapEntries::Shared(plain) = session.read_map("plain").expect("readable") else { panic!("plain entries") };
    let mut seen: Vec<u32> = plain.iter().map(|(key, _)| key_of(key)).collect();
    assert!(plain.iter().all(|(key, value)| value_of(value) == u64::from(key_of(key) * 2)));
    seen.sort_unstable();
    assert_eq!(seen, (0..keys as u32).collect::<Vec<_>>());
    let MapEntries::PerCpu(percpu) = session.read_map("percpu").expect("readable") else { panic!("per-CPU entries") };
    assert_eq!(percpu.len(), keys);
    for (key, values) in &percpu {
        assert_eq!(values.len(), cpus);
        assert!(values.iter().all(|value| value_of(value) == u64::from(key_of(key) * 2)), "key {}", key_of(key));
    }
    for name in ["plain", "percpu"] {
        let started = Instant::now();
        session.clear_map(name).expect("clears");
        eprintln!("MEASURED: clearing {keys} keys of the {name} hash: {:?}", started.elapsed());
        assert!(matches!(session.read_map(name), Ok(MapEntries::Empty)), "{name} is empty after clear");
    }
}

#[test]
fn zeroing_keeps_the_keys_and_brings_none_back() {
    if !can_trace("zeroing_keeps_the_keys_and_brings_none_back") {
        return;
    }
    let session = load(&[("begin", Attach::Manual, fixtures::noop())], &[fixtures::hash_map("values")]);
    let (data, _) = session.readable_map("values", "filling").expect("map");
    for key in [1u32, 2] {
        sys::map_update(data.fd().as_fd(), &key.to_le_bytes(), &u64::from(key * 10).to_le_bytes()).expect("update");
    }
    session.zero_map("values").expect("zeroes");
    let MapEntries::Shared(mut entries) = session.read_map("values").expect("readable") else { panic!("entries") };
    entries.sort();
    let zero = 0u64.to_le_bytes().to_vec();
    assert_eq!(entries, vec![(1u32.to_le_bytes().to_vec(), zero.clone()), (2u32.to_le_bytes().to_vec(), zero.clone())]);
    // A key deleted between the walk and the write stays deleted.
    sys::map_overwrite(data.fd().as_fd(), &3u32.to_le_bytes(), &zero).expect("a missing key is not an error");
    let MapEntries::Shared(entries) = session.read_map("values").expect("readable") else { panic!("entries") };
    assert_eq!(entries.len(), 2, "key 3 was not created");
}

/// How many times the program of [`detach_waits_for_a_run_in_progress_on_another_cpu`] unwinds the stack: a
/// constant count, which the verifier follows to the end (a time check in the loop would fork its states),
/// tens of milliseconds.
const UNWINDS: i32 = 30_000;

/// On `task_rename` from thread `tid`, once, while `gate` is open: stores its start time at offset 0 of slot 0
/// of the array map `map`, unwinds the stack [`UNWINDS`] times (microseconds each), then stores its end time at
/// offset 8.
fn long_run(map: usize, gate: crate::maps::Gate, tid: u32) -> Program {
    use crate::insn::{AluOp, Builder, Helper, JmpOp, Reg, Size};
    let mut b = Builder::new();
    let exit = b.new_label();
    b.mov64(Reg::R6, Reg::R1);
    gate.emit_check(&mut b, exit);
    b.call(Helper::GetCurrentPidTgid);
    b.jump32_if(JmpOp::Ne, Reg::R0, tid as i32, exit);
    b.store_imm(Size::W, Reg::R10, -4, 0);
    b.ld_map(Reg::R1, map);
    b.stack_pointer(Reg::R2, -4);
    b.call(Helper::MapLookupElem);
    b.jump_if(JmpOp::Eq, Reg::R0, 0, exit);
    b.mov64(Reg::R7, Reg::R0);
    b.load(Size::DW, Reg::R1, Reg::R7, 0);
    b.jump_if(JmpOp::Ne, Reg::R1, 0, exit);
    b.call(Helper::KtimeGetNs);
    b.store(Size::DW, Reg::R7, 0, Reg::R0);
    b.mov64(Reg::R9, 0);
    let spin = b.new_label();
    b.bind(spin);
    b.mov64(Reg::R1, Reg::R6);
    b.stack_pointer(Reg::R2, -256);
    b.mov64(Reg::R3, 240);
    b.mov64(Reg::R4, 0);
    b.call(Helper::GetStack);
    b.alu64(AluOp::Add, Reg::R9, 1);
    b.jump_if(JmpOp::Lt, Reg::R9, UNWINDS, spin);
    b.call(Helper::KtimeGetNs);
    b.store(Size::DW, Reg::R7, 8, Reg::R0);
    b.bind(exit);
    b.mov64(Reg::R0, 0);
    b.exit();
    b.finish().expect("the long program builds")
}

fn monotonic_ns() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec to write.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

fn pin_to_cpu(cpu: usize) {
    // SAFETY: the set is a valid cpu_set_t, zeroed then given one CPU; pid 0 is the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// The program's (start, end) times; 0 for what it has not stored.
fn run_times(session: &Session) -> (u64, u64) {
    let MapEntries::Shared(entries) = session.read_map("spin").expect("readable") else { panic!("an array map") };
    let value = &entries[0].1;
    let word = |at: usize| u64::from_le_bytes(value[at..at + 8].try_into().expect("8 bytes"));
    (word(0), word(8))
}

/// A program still running on another CPU when `detach_all` is called has ended, and its last update is in
/// the map, when `detach_all` returns: the final maps are one snapshot, although closing a raw tracepoint or
/// tp_btf link does not wait for runs in progress (`quiesce.rs`). The program checks the start/stop gate first,
/// as generated programs do: `detach_all` closes it while the run, already past it, goes on.
#[test]
fn detach_waits_for_a_run_in_progress_on_another_cpu() {
    if !can_trace("detach_waits_for_a_run_in_progress_on_another_cpu") {
        return;
    }
    let cpus = aya::util::online_cpus().expect("online CPUs");
    assert!(cpus.len() >= 2, "needs two CPUs, has {cpus:?}");
    let (main_cpu, other_cpu) = (cpus[0] as usize, cpus[1] as usize);
    for attach in [Attach::RawTracepoint { name: "task_rename".into() }, Attach::TpBtf { name: "task_rename".into() }] {
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let renamer = std::thread::spawn(move || {
            pin_to_cpu(other_cpu);
            // SAFETY: gettid has no preconditions.
            tid_tx.send(unsafe { libc::gettid() } as u32).expect("main thread waits");
            go_rx.recv().expect("main thread says go");
            // SAFETY: PR_SET_NAME reads a NUL-terminated name of at most 16 bytes.
            unsafe { libc::prctl(libc::PR_SET_NAME, c"jl-long-run".as_ptr()) };
        });
        pin_to_cpu(main_cpu);
        let tid = tid_rx.recv().expect("renamer sends its id");
        let map = MapSpec {
            name: "spin".into(),
            kind: MapKind::Array,
            key_size: 4,
            value_size: 16,
            max_entries: 1,
            on_insert: false,
        };
        let gate = crate::maps::Gate { map: 1 };
        let maps = [map, crate::maps::Gate::map_spec("gate")];
        let mut session = load(&[("long_run", attach.clone(), long_run(0, gate, tid))], &maps);
        session.attach_all().unwrap_or_else(|e| panic!("attach failed: {e}"));
        go_tx.send(()).expect("renamer waits");
        let waited = Instant::now();
        while run_times(&session).0 == 0 {
            assert!(waited.elapsed() < Duration::from_secs(5), "{}: the program never ran", attach.target());
        }
        let detach_started = monotonic_ns();
        session.detach_all().expect("detached");
        let detach_returned = monotonic_ns();
        let (start, end) = run_times(&session);
        renamer.join().expect("renamer ends");
        assert!(end != 0, "{}: the run in progress was not waited for", attach.target());
        assert!(
            start < detach_started && detach_started < end && end <= detach_returned,
            "{}: the run ({start}..{end}) must span the start of the detach ({detach_started}..{detach_returned})",
            attach.target()
        );
    }
}
