//! Kernel stacks: `kstack` keys resolved to symbols, folded output and the SVG flame graph.

use crate::runtime::{can_trace, map_data, Tracing};
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
