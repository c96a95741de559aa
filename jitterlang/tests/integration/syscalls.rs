//! Syscall events on this host: served by one dispatcher program per direction on the `raw_syscalls` raw
//! tracepoints by default (tail calls by syscall number, several events of one syscall chained), or by their own
//! program there comparing the number when alone in their direction, by their perf-event tracepoints with
//! `JL_TRACEPOINT_MECHANISM=perf`, said by `jl -v`, and counting what this thread did either way: N getppid
//! calls (twice, by two events on the same syscall) and their return value, a write's fd and count and its
//! error, its failed semget calls, and none of the 32-bit calls it makes through `int $0x80` (whose number is
//! semget's in the x86-64 table) nor of its calls of an unknown number. The `sys_enter_*` and `sys_exit_*`
//! wildcards (every syscall event of the kernel) count the same calls.

use crate::support::{jl_with_mechanism, spawn_attached};
use jitterlib::testing::can_trace;

const GETPPIDS: usize = 300;
const INT80_GETPPIDS: usize = 50;
/// x86-64 semget calls, refused (a negative count): the number the 32-bit getppid calls have too.
const SEMGETS: usize = 7;
const FD: i32 = 987;
const COUNT: usize = 4321;
/// Calls numbered [`FIRST_CHAIN_SLOT`], which no event may count.
const UNKNOWN_CALLS: usize = 20;
/// The dispatcher's first slot past the x86-64 syscall numbers, where a second event of one syscall waits.
const FIRST_CHAIN_SLOT: libc::c_long = 512;

/// This thread's id: the scripts count its calls only (other tests of this binary make system calls too).
fn tid() -> i64 {
    // SAFETY: gettid takes no arguments.
    unsafe { libc::syscall(libc::SYS_gettid) }
}

/// The script, each probe filtered to this thread; two events on getppid's entry.
fn script() -> String {
    let tid = tid();
    format!(
        "tracepoint:syscalls:sys_enter_getppid /tid == {tid}/ {{ @enter = count(); }} \
         tracepoint:syscalls:sys_exit_getppid /tid == {tid}/ {{ @ret[args.ret] = count(); }} \
         tracepoint:syscalls:sys_enter_write /tid == {tid} && args.fd == {FD}/ {{ @write[args.fd, args.count, args.__syscall_nr] = count(); }} \
         tracepoint:syscalls:sys_exit_write /tid == {tid} && args.ret < 0/ {{ @error[args.ret] = count(); }} \
         tracepoint:syscalls:sys_enter_getppid /tid == {tid}/ {{ @enter_again[args.__syscall_nr] = count(); }} \
         tracepoint:syscalls:sys_enter_semget /tid == {tid}/ {{ @semget = count(); }}"
    )
}

/// A 32-bit `getppid` (number 64 of the i386 table, `semget` in the x86-64 one) through `int $0x80`.
fn int80_getppid() -> i64 {
    let mut result: i64 = 64;
    // SAFETY: `int $0x80` with eax 64 is the i386 getppid: no arguments, no memory touched; it clobbers r8-r11.
    unsafe {
        std::arch::asm!("int 0x80", inout("rax") result, out("r8") _, out("r9") _, out("r10") _, out("r11") _);
    }
    result
}

/// Runs `script` with `JL_TRACEPOINT_MECHANISM=mechanism` (unset for `None`), makes the calls once attached,
/// and returns `jl -v`'s standard error and standard output.
fn run(script: &str, mechanism: Option<&str>) -> (String, String) {
    // Asked before jl attaches: `parent_id()` is a getppid call of its own.
    let parent = i64::from(std::os::unix::process::parent_id());
    let (child, mut stderr, lines) = spawn_attached(&mut jl_with_mechanism(mechanism, &["-v", "-e", script]));
    for _ in 0..GETPPIDS {
        // SAFETY: getppid takes no arguments.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    for _ in 0..INT80_GETPPIDS {
        assert_eq!(int80_getppid(), parent);
    }
    for _ in 0..SEMGETS {
        // SAFETY: semget with a negative number of semaphores creates nothing and fails with EINVAL.
        assert_eq!(unsafe { libc::syscall(libc::SYS_semget, 0x6a6c, -1, 0) }, -1);
    }
    // The number of the dispatcher's first chain slot (`@enter_again`'s), no x86-64 call: refused, counted by none.
    for _ in 0..UNKNOWN_CALLS {
        // SAFETY: an unknown system call number only returns ENOSYS.
        assert_eq!(unsafe { libc::syscall(FIRST_CHAIN_SLOT) }, -1);
    }
    let buffer = vec![0u8; COUNT];
    // SAFETY: the buffer holds COUNT bytes; FD is not open, so the call fails with EBADF.
    let written = unsafe { libc::write(FD, buffer.as_ptr().cast(), COUNT) };
    assert_eq!(written, -1);
    // SAFETY: SIGINT makes jl print its maps and exit.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let output = child.wait_with_output().expect("jl ends");
    stderr.extend(lines.map_while(Result::ok).map(|line| line + "\n"));
    assert!(output.status.success(), "{mechanism:?}: {stderr}");
    (stderr, String::from_utf8_lossy(&output.stdout).into_owned())
}

fn assert_counted(mechanism: Option<&str>, stdout: &str) {
    let parent = std::os::unix::process::parent_id();
    for expected in [
        format!("@enter: {GETPPIDS}"),
        format!("@enter_again[110]: {GETPPIDS}"),
        format!("@ret[{parent}]: {GETPPIDS}"),
        format!("@write[{FD}, {COUNT}, 1]: 1"),
        format!("@error[{}]: 1", -libc::EBADF),
        // More would be 32-bit getppid calls counted as semget.
        format!("@semget: {SEMGETS}\n"),
    ] {
        assert!(stdout.contains(&expected), "{mechanism:?}: no `{expected}` in\n{stdout}");
    }
}

#[test]
fn syscall_events_run_behind_a_dispatcher_and_fall_back_to_perf_events() {
    if !can_trace("syscall_events_run_behind_a_dispatcher_and_fall_back_to_perf_events") {
        return;
    }
    let (stderr, stdout) = run(&script(), None);
    assert_counted(None, &stdout);
    for (event, raw, number, slot) in [
        ("sys_enter_getppid", "sys_enter", 110, 110),
        ("sys_exit_write", "sys_exit", 1, 1),
        ("sys_enter_getppid", "sys_enter", 110, 512),
        ("sys_enter_semget", "sys_enter", 64, 64),
    ] {
        let said = format!(
            "tracepoint:syscalls:{event}: raw tracepoint raw_syscalls:{raw}, syscall number {number} (x86-64), \
             through its dispatcher (slot {slot})"
        );
        assert!(stderr.contains(&said), "no `{said}` in\n{stderr}");
    }
    for (raw, served) in [("sys_enter", 4), ("sys_exit", 2)] {
        let said = format!("one dispatcher program on raw_syscalls:{raw} serves {served} syscall events");
        assert!(stderr.contains(&said), "no `{said}` in\n{stderr}");
    }
    let (stderr, stdout) = run(&script(), Some("perf"));
    assert_counted(Some("perf"), &stdout);
    let said = "syscalls:sys_enter_getppid uses a perf-event tracepoint; raw tracepoints not used: turned off with \
                JL_TRACEPOINT_MECHANISM=perf";
    assert!(stderr.contains(said), "no `{said}` in\n{stderr}");
}

#[test]
fn the_only_event_of_a_direction_compares_the_number_in_its_own_program() {
    if !can_trace("the_only_event_of_a_direction_compares_the_number_in_its_own_program") {
        return;
    }
    let tid = tid();
    let script = format!(
        "tracepoint:syscalls:sys_enter_semget /tid == {tid}/ {{ @semget = count(); }} \
         tracepoint:syscalls:sys_exit_getppid /tid == {tid}/ {{ @ret[args.ret, args.__syscall_nr] = count(); }}"
    );
    let (stderr, stdout) = run(&script, None);
    let parent = std::os::unix::process::parent_id();
    for expected in [format!("@semget: {SEMGETS}\n"), format!("@ret[{parent}, 110]: {GETPPIDS}\n")] {
        assert!(stdout.contains(&expected), "no `{expected}` (a 32-bit or unknown call counted?) in\n{stdout}");
    }
    assert_eq!(stdout.matches("@ret[").count(), 1, "another call's exit counted as getppid's:\n{stdout}");
    for (event, raw, number) in [("sys_enter_semget", "sys_enter", 64), ("sys_exit_getppid", "sys_exit", 110)] {
        let said = format!(
            "tracepoint:syscalls:{event}: raw tracepoint raw_syscalls:{raw}, syscall number {number} (x86-64), \
             compared in its own program (the only syscall event of its direction)"
        );
        assert!(stderr.contains(&said), "no `{said}` in\n{stderr}");
    }
    assert!(!stderr.contains("dispatcher"), "{stderr}");
}

#[test]
fn the_wildcards_count_every_syscall_through_two_dispatchers() {
    if !can_trace("the_wildcards_count_every_syscall_through_two_dispatchers") {
        return;
    }
    let tid = tid();
    let script = format!(
        "tracepoint:syscalls:sys_enter_* /tid == {tid}/ {{ @enter[probe] = count(); }} \
         tracepoint:syscalls:sys_exit_* /tid == {tid}/ {{ @exit[probe] = count(); }}"
    );
    let (stderr, stdout) = run(&script, None);
    for expected in [
        format!("@enter[tracepoint:syscalls:sys_enter_getppid]: {GETPPIDS}"),
        format!("@exit[tracepoint:syscalls:sys_exit_getppid]: {GETPPIDS}"),
        "@enter[tracepoint:syscalls:sys_enter_write]: 1".to_string(),
        "@exit[tracepoint:syscalls:sys_exit_write]: 1".to_string(),
    ] {
        assert!(stdout.contains(&expected), "no `{expected}` in\n{stdout}");
    }
    let semgets = format!("@enter[tracepoint:syscalls:sys_enter_semget]: {SEMGETS}\n");
    assert!(stdout.contains(&semgets), "no `{semgets}` (more: 32-bit getppid counted as semget) in\n{stdout}");
    for raw in ["sys_enter", "sys_exit"] {
        let served = stderr
            .split(&format!("one dispatcher program on raw_syscalls:{raw} serves "))
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|number| number.parse::<usize>().ok());
        assert!(served.is_some_and(|served| served > 300), "{raw}: {served:?} in\n{stderr}");
    }
    assert!(!stderr.contains("uses a perf-event tracepoint"), "{stderr}");
}
