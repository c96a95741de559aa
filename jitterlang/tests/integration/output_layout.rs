//! The bytes jl prints for what a real probe reported, in both formats, as bpftrace 0.27.1 prints them (checked
//! against it from the bench chroot: the same script with the same values prints the same bytes).

use crate::support::start_attached;
use jitterlib::testing::can_trace;

/// A probe on this thread's next getppid(): a printf with bpftrace's integer sizes, a count, a histogram and a
/// max of the syscall number the kernel passed, then exit.
fn script(tid: i32) -> String {
    format!(
        "tracepoint:syscalls:sys_enter_getppid /tid == {tid}/ {{ printf(\"%d %x %lu\\n\", -1, -1, (uint64)tid); \
         @calls = count(); @h = hist(5); @nr = max(args.__syscall_nr); exit(); }}"
    )
}

/// jl's standard output for `script` with `flags`, once this thread has called getppid.
fn traced(flags: &[&str], tid: i32) -> String {
    let script = script(tid);
    let mut args = flags.to_vec();
    args.extend(["-e", script.as_str()]);
    let jl = start_attached(&args);
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() };
    let output = jl.wait_with_output().expect("jl exits");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_probe_s_output_has_bpftrace_s_bytes_in_text_and_json() {
    if !can_trace("a_probe_s_output_has_bpftrace_s_bytes_in_text_and_json") {
        return;
    }
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let bar = format!("{:<16}{:>8} |{}|", "[4, 8)", 1, "@".repeat(52));
    // printf's bare %d and %x are 32 bits; two newlines when tracing ends; maps by name, a blank line only after
    // the histogram. getppid is syscall 110 on x86-64.
    assert_eq!(traced(&[], tid), format!("-1 ffffffff {tid}\n\n\n@calls: 1\n@h:\n{bar}\n\n@nr: 110\n"));
    let expected = [
        r#"{"type": "attached_probes", "count": 1, "data": {"probes": 1}}"#.to_string(),
        format!(r#"{{"type": "printf", "data": "-1 ffffffff {tid}\n"}}"#),
        r#"{"type": "map", "data": {"@calls": 1}}"#.to_string(),
        r#"{"type": "hist", "data": {"@h": [{"min": 4, "max": 7, "count": 1}]}}"#.to_string(),
        r#"{"type": "map", "data": {"@nr": 110}}"#.to_string(),
    ];
    assert_eq!(traced(&["-f", "json"], tid), expected.map(|line| line + "\n").concat());
}
