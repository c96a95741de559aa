//! BTF-typed kernel pointers end to end: `->` chains, embedded structs, `char` arrays as strings, casts,
//! `ntop`/`ntohs`, `break`/`continue`, checked against what this process knows about itself and what `ping`
//! sent.

use std::os::unix::fs::MetadataExt;
use std::process::Command;

use serde_json::Value;

use crate::runtime::{map_data, Tracing};
use crate::support::run_jl;
use jitterlib::testing::{can_trace, skip};

/// The name the kernel gives thread `tid` of this process (`comm`).
fn thread_comm(tid: i32) -> String {
    let path = format!("/proc/self/task/{tid}/comm");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}")).trim_end().to_string()
}

/// The keys of a keyed map in JSON output.
fn keys(lines: &[Value], map: &str) -> Vec<String> {
    map_data(lines, map)
        .as_object()
        .unwrap_or_else(|| panic!("{map} is not keyed: {lines:?}"))
        .keys()
        .cloned()
        .collect()
}

/// What `body` recorded when this thread called getppid, traced by `tracepoint:syscalls:sys_enter_getppid`.
fn on_getppid(body: &str) -> Vec<Value> {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let tracing = Tracing::start(&format!("tracepoint:syscalls:sys_enter_getppid /tid == {tid}/ {{ {body} }}"), 1.0);
    // SAFETY: getppid has no preconditions; the raw syscall avoids any libc caching.
    unsafe { libc::syscall(libc::SYS_getppid) };
    tracing.finish()
}

#[test]
fn curtask_reads_the_parent_pid_and_the_name_of_this_process() {
    if !can_trace("curtask_reads_the_parent_pid_and_the_name_of_this_process") {
        return;
    }
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let lines = on_getppid(
        "@parent = curtask->real_parent->tgid; @pid = curtask->tgid; @comm[curtask->comm] = count(); @netns = netns;",
    );
    // SAFETY: getppid and getpid have no preconditions.
    let (parent, pid) = unsafe { (libc::getppid(), libc::getpid()) };
    assert_eq!(map_data(&lines, "@parent"), &Value::from(parent), "{lines:?}");
    assert_eq!(map_data(&lines, "@pid"), &Value::from(pid), "{lines:?}");
    assert_eq!(keys(&lines, "@comm"), [thread_comm(tid)], "{lines:?}");
    let netns = std::fs::metadata("/proc/self/ns/net").expect("netns").ino();
    assert_eq!(map_data(&lines, "@netns"), &Value::from(netns), "the builtin netns: {lines:?}");
}

#[test]
fn pointer_variables_keep_their_struct_and_move_by_whole_structs() {
    if !can_trace("pointer_variables_keep_their_struct_and_move_by_whole_structs") {
        return;
    }
    // `$t + 1` is the next task_struct in memory (never read through); one back is `$t` again.
    let lines = on_getppid(
        "$t = (struct task_struct *)curtask; $parent = $t->real_parent; @parent = $parent->tgid; $next = $t + 1; \
         @back = ($next - 1)->tgid; @step = (uint64)$next - (uint64)$t; @task = $t; @same = curtask == $t;",
    );
    // SAFETY: getppid and getpid have no preconditions.
    let (parent, pid) = unsafe { (libc::getppid(), libc::getpid()) };
    assert_eq!(map_data(&lines, "@parent"), &Value::from(parent), "{lines:?}");
    assert_eq!(map_data(&lines, "@back"), &Value::from(pid), "{lines:?}");
    let (code, size, stderr) = run_jl(&["-e", "BEGIN { printf(\"%d\\n\", sizeof(struct task_struct)); exit(); }"]);
    assert_eq!(code, 0, "{stderr}");
    let size: u64 = size.trim().parse().expect("a size");
    assert!(size > 1000, "task_struct is {size} bytes");
    assert_eq!(map_data(&lines, "@step"), &Value::from(size), "{lines:?}");
    assert_eq!(map_data(&lines, "@same"), &Value::Bool(true), "a comparison is a bool: {lines:?}");
    // As bpftrace writes it: a number, in a string when a double cannot hold it exactly (most kernel addresses).
    let task = match map_data(&lines, "@task") {
        Value::String(text) => text.parse().ok(),
        number => number.as_u64(),
    };
    let task = task.unwrap_or_else(|| panic!("@task is not an address: {lines:?}"));
    assert!(task >= 0xffff_8000_0000_0000, "a kernel address: {task:#x}");
}

#[test]
fn untyped_pointer_fields_move_in_bytes() {
    if !can_trace("untyped_pointer_fields_move_in_bytes") {
        return;
    }
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    // `args.filename` is a `const char *`: a pointer to no struct, so `+ 6` moves 6 bytes, past "/proc/".
    let script = format!(
        "tracepoint:syscalls:sys_enter_openat /tid == {tid}/ {{ @tail[str(args.filename + 6)] = count(); \
         @user[args.filename < 0x800000000000] = count(); }}"
    );
    let tracing = Tracing::start(&script, 1.0);
    let path = std::ffi::CString::new("/proc/self/jl-no-such-file").expect("no NUL");
    // SAFETY: a valid NUL-terminated path; the open fails (no such file) after the syscall is entered.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
    assert_eq!(fd, -1, "the file does not exist");
    let lines = tracing.finish();
    assert_eq!(keys(&lines, "@tail"), ["self/jl-no-such-file"], "{lines:?}");
    assert_eq!(keys(&lines, "@user"), ["true"], "a user-space address: {lines:?}");
}

#[test]
fn rawtp_sched_switch_reads_the_btf_typed_prev_task() {
    if !can_trace("rawtp_sched_switch_reads_the_btf_typed_prev_task") {
        return;
    }
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let script = format!(
        "rawtp:sched_switch /args.prev->pid == {tid}/ {{ @prev[args.prev->comm, args.prev->tgid] = count(); \
         @next_differs[args.next->pid != {tid}] = count(); }}"
    );
    let tracing = Tracing::start(&script, 1.0);
    for _ in 0..10 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let lines = tracing.finish();
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let prev = map_data(&lines, "@prev").as_object().expect("keyed map");
    let expected_key = format!("{},{pid}", thread_comm(tid));
    let switches =
        prev.get(&expected_key).and_then(Value::as_u64).unwrap_or_else(|| panic!("{expected_key}: {prev:?}"));
    assert!(switches >= 10, "sleeping 10 times switched out only {switches} times");
    assert_eq!(prev.len(), 1, "{prev:?}");
    assert_eq!(keys(&lines, "@next_differs"), ["true"], "{lines:?}");
}

#[test]
fn icmp_seq_of_a_loopback_ping_is_read_from_the_skb() {
    if !can_trace("icmp_seq_of_a_loopback_ping_is_read_from_the_skb") {
        return;
    }
    if Command::new("ping").arg("-V").output().is_err() {
        skip("icmp_seq_of_a_loopback_ping_is_read_from_the_skb", "no ping");
        return;
    }
    // 127.0.0.23 (0x1700007f as the kernel's __be32 reads on a little-endian host) is routed to lo like
    // 127.0.0.1, and no other test pings it.
    let script = "rawtracepoint:netif_receive_skb {
        $skb = args.arg0;
        $ip = (struct iphdr *)($skb->head + $skb->network_header);
        $icmp = (struct icmphdr *)($skb->head + $skb->transport_header);
        if ($ip->protocol == 1 && $ip->daddr == 0x1700007f && $icmp->type == 8) {
            @seq[ntohs($icmp->un.echo.sequence)] = count();
            @route[ntop($ip->saddr), ntop($ip->daddr), $skb->dev->name] = count();
        }
    }";
    let tracing = Tracing::start(script, 2.0);
    let ping = Command::new("ping").args(["-c", "3", "-i", "0.2", "127.0.0.23"]).output().expect("run ping");
    assert!(ping.status.success(), "{}", String::from_utf8_lossy(&ping.stderr));
    let lines = tracing.finish();
    let seqs = map_data(&lines, "@seq").as_object().expect("keyed map");
    let expected: serde_json::Map<String, Value> = (1..=3).map(|seq| (seq.to_string(), Value::from(1))).collect();
    assert_eq!(seqs, &expected, "{lines:?}");
    assert_eq!(map_data(&lines, "@route"), &serde_json::json!({"127.0.0.1,127.0.0.23,lo": 3}), "{lines:?}");
}

#[test]
fn casts_break_and_continue_compute_in_the_kernel() {
    if !can_trace("casts_break_and_continue_compute_in_the_kernel") {
        return;
    }
    let script = r#"BEGIN {
        $i = 0; $s = 0;
        while ($i < 10) { $i++; if ($i == 3) { continue; } if ($i == 6) { break; } $s += $i; }
        $j = 0; $t = 0;
        unroll(5) { $j++; if ($j == 2) { continue; } if ($j == 4) { break; } $t += $j; }
        printf("%d %d %d %d\n", $s, $t, $i, $j);
        $x = 0x1ff80;
        printf("%d %d %d %u %d\n", (uint8)$x, (int8)$x, (int16)$x, (uint32)-1, (int32)0xffffffff);
        printf("%d %d\n", ntohs(0x3412), ntohl(0x78563412));
        exit();
    }"#;
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    // while: 1+2+4+5 (3 skipped, stopped at 6); unroll: 1+3 (2 skipped, stopped at 4).
    assert_eq!(out, "12 4 6 4\n128 -128 -128 4294967295 -1\n4660 305419896\n\n\n", "{err}");
}
