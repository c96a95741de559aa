//! Syscall events on this host: served by `raw_syscalls` raw tracepoints by default (at most
//! `MAX_RAW_SYSCALL_PROBES` per direction), by their perf-event tracepoints with `JL_TRACEPOINT_MECHANISM=perf`,
//! said by `jl -v`, and counting what this process did either way: N getppid calls and their return value, a
//! write's fd and count and its error, and none of the 32-bit calls it makes through `int $0x80`.

use jitterlib::testing::can_trace;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const GETPPIDS: usize = 300;
const INT80_GETPPIDS: usize = 50;
const FD: i32 = 987;
const COUNT: usize = 4321;

/// The script, each probe filtered to this process.
fn script() -> String {
    let pid = std::process::id();
    format!(
        "tracepoint:syscalls:sys_enter_getppid /pid == {pid}/ {{ @enter = count(); }} \
         tracepoint:syscalls:sys_exit_getppid /pid == {pid}/ {{ @ret[args.ret] = count(); }} \
         tracepoint:syscalls:sys_enter_write /pid == {pid} && args.fd == {FD}/ {{ @write[args.fd, args.count, args.__syscall_nr] = count(); }} \
         tracepoint:syscalls:sys_exit_write /pid == {pid} && args.ret < 0/ {{ @error[args.ret] = count(); }} \
         tracepoint:syscalls:sys_enter_semget /pid == {pid}/ {{ @semget = count(); }}"
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

/// Runs the script with `JL_TRACEPOINT_MECHANISM=mechanism` (unset for `None`), makes the calls once attached,
/// and returns `jl -v`'s standard error and standard output.
fn run(mechanism: Option<&str>) -> (String, String) {
    // Asked before jl attaches: `parent_id()` is a getppid call of its own.
    let parent = i64::from(std::os::unix::process::parent_id());
    let mut command = Command::new(env!("CARGO_BIN_EXE_jl"));
    command.args(["-v", "-e", &script()]).stdout(Stdio::piped()).stderr(Stdio::piped());
    match mechanism {
        Some(mechanism) => command.env("JL_TRACEPOINT_MECHANISM", mechanism),
        None => command.env_remove("JL_TRACEPOINT_MECHANISM"),
    };
    let mut child = command.spawn().expect("spawn jl");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut stderr = String::new();
    for line in lines.by_ref() {
        let line = line.expect("read jl's stderr");
        stderr.push_str(&line);
        stderr.push('\n');
        if line.starts_with("Attached") {
            break;
        }
    }
    assert!(stderr.contains("Attached"), "{mechanism:?}: jl did not attach: {stderr}");
    for _ in 0..GETPPIDS {
        // SAFETY: getppid takes no arguments.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    for _ in 0..INT80_GETPPIDS {
        assert_eq!(int80_getppid(), parent);
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
        format!("@ret[{parent}]: {GETPPIDS}"),
        format!("@write[{FD}, {COUNT}, 1]: 1"),
        format!("@error[{}]: 1", -libc::EBADF),
    ] {
        assert!(stdout.contains(&expected), "{mechanism:?}: no `{expected}` in\n{stdout}");
    }
    assert!(!stdout.contains("@semget"), "{mechanism:?}: 32-bit getppid counted as semget:\n{stdout}");
}

#[test]
fn syscall_events_run_on_raw_syscalls_and_fall_back_to_perf_events() {
    if !can_trace("syscall_events_run_on_raw_syscalls_and_fall_back_to_perf_events") {
        return;
    }
    let (stderr, stdout) = run(None);
    assert_counted(None, &stdout);
    for (event, raw, number) in [
        ("sys_enter_getppid", "sys_enter", 110),
        ("sys_exit_write", "sys_exit", 1),
        ("sys_enter_semget", "sys_enter", 64),
    ] {
        let said = format!("tracepoint:syscalls:{event}: raw tracepoint raw_syscalls:{raw}, syscall number {number}");
        assert!(stderr.contains(&said), "no `{said}` in\n{stderr}");
    }
    let (stderr, stdout) = run(Some("perf"));
    assert_counted(Some("perf"), &stdout);
    let said = "syscalls:sys_enter_getppid uses a perf-event tracepoint; raw tracepoints not used: turned off with \
                JL_TRACEPOINT_MECHANISM=perf";
    assert!(stderr.contains(said), "no `{said}` in\n{stderr}");
}

#[test]
fn more_syscall_events_than_the_limit_use_perf_events() {
    if !can_trace("more_syscall_events_than_the_limit_use_perf_events") {
        return;
    }
    let probes = (0..=jitterlib::probe::MAX_RAW_SYSCALL_PROBES)
        .map(|i| format!("tracepoint:syscalls:sys_enter_getppid {{ @{i} = count(); }}"))
        .collect::<Vec<_>>()
        .join(" ");
    let (code, stdout, stderr) = crate::support::run_jl(&["-d", "-e", &probes]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("-> tracepoint/syscalls/sys_enter_getppid"), "{stdout}");
    assert!(!stdout.contains("raw_tracepoint/sys_enter"), "{stdout}");
}
