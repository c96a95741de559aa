//! bpftrace 0.27's declarations and casts, run end to end on this host: `macro`, C `enum` and `struct`
//! definitions, pointer casts and `strcontains()`, each asserting on what the kernel reported.

use crate::support::start_attached;
use jitterlib::testing::can_trace;
use std::process::Command;

/// Runs `script` (which must exit by itself once it has seen `sh -c COMMAND` started by this test), and
/// returns what it printed. `TID` in the script stands for this thread's id, the parent of that `sh`.
pub(crate) fn traced(script: &str, command: &str) -> String {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let script = script.replace("TID", &tid.to_string());
    let jl = start_attached(&["-e", &script]);
    let status = Command::new("sh").args(["-c", command]).status().expect("run sh");
    assert!(status.success());
    let output = jl.wait_with_output().expect("jl exits");
    assert!(output.status.success(), "jl failed on {script}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn macros_expand_with_the_kernel_values() {
    if !can_trace("macros_expand_with_the_kernel_values") {
        return;
    }
    // `sh` calls getppid for `$PPID`: the predicate macro keeps that call, `plus` gets the kernel's ppid as an
    // expression, `bump` changes the caller's variable and map, and the macro's own `$v` stays its own.
    let script = "macro mine(x) { x == TID } macro plus(x, n) { let $v = x; $v + n } \
                  macro bump($c, @m) { $v = 100; $c += 1; @m = $c; } \
                  tracepoint:syscalls:sys_enter_getppid /mine(ppid)/ { $v = 7; bump($v, @seen); \
                  printf(\"%d %d %d\\n\", plus(ppid, 1) - TID, $v, @seen); exit(); }";
    let printed = traced(script, "echo $PPID >/dev/null");
    assert_eq!(printed.lines().next(), Some("1 8 8"), "{printed}");
}

#[test]
fn enum_constants_compare_with_kernel_values() {
    if !can_trace("enum_constants_compare_with_kernel_values") {
        return;
    }
    let script = "enum who { OTHER = -1, ME = TID, NEXT }; \
                  tracepoint:syscalls:sys_enter_getppid /ppid == ME/ { printf(\"%d %d\\n\", NEXT - ppid, OTHER); exit(); }";
    let printed = traced(script, "echo $PPID >/dev/null");
    assert_eq!(printed.lines().next(), Some("1 -1"), "{printed}");
}

#[test]
fn strcontains_finds_text_in_what_the_kernel_reported() {
    if !can_trace("strcontains_finds_text_in_what_the_kernel_reported") {
        return;
    }
    // The file name `cat` opens, as the kernel passed it to openat: found in the predicate, then one needle
    // that is in it (across an 8-byte word) and one that is not.
    let script = "tracepoint:syscalls:sys_enter_openat /strcontains(str(args.filename), \"jl_needle_TID\")/ { \
                  printf(\"%d %d %d\\n\", strcontains(str(args.filename), \"dle_TID/x\"), \
                  strcontains(str(args.filename), \"needle_TIDx\"), strcontains(comm, \"at\")); exit(); }";
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let printed = traced(script, &format!("cat /nonexistent/jl_needle_{tid}/x 2>/dev/null; true"));
    assert_eq!(printed.lines().next(), Some("1 0 1"), "{printed}");
}

#[test]
fn sizeof_of_a_kernel_struct_is_its_btf_size_and_a_member_its_width() {
    if !can_trace("sizeof_of_a_kernel_struct_is_its_btf_size_and_a_member_its_width") {
        return;
    }
    // bpftool's BTF dump is the reference for the struct's size; `curtask->pid` is a 4-byte read.
    let dump = Command::new("bpftool").args(["btf", "dump", "file", "/sys/kernel/btf/vmlinux"]).output();
    let Ok(dump) = dump else { panic!("bpftool is needed to check sizeof") };
    let text = String::from_utf8_lossy(&dump.stdout);
    let size = text
        .lines()
        .find_map(|line| line.split_once("STRUCT 'task_struct' size=")?.1.split_whitespace().next())
        .expect("task_struct in the BTF dump");
    let script = "tracepoint:syscalls:sys_enter_getppid /pid == TID || ppid == TID/ { \
                  printf(\"%d %d\\n\", sizeof(struct task_struct), sizeof(curtask->pid)); exit(); }";
    let printed = traced(script, "echo $PPID >/dev/null");
    assert_eq!(printed.lines().next(), Some(format!("{size} 4").as_str()), "{printed}");
}

#[test]
fn records_keep_their_field_names_through_variables_and_maps() {
    if !can_trace("records_keep_their_field_names_through_variables_and_maps") {
        return;
    }
    let script = "tracepoint:syscalls:sys_enter_getppid /ppid == TID/ { $r = (who=ppid, name=comm); \
                  print($r.who - TID); @last = (n=$r.who - TID, c=$r.name); exit(); }";
    let printed = traced(script, "echo $PPID >/dev/null");
    let lines: Vec<&str> = printed.lines().filter(|line| !line.is_empty()).collect();
    assert_eq!(lines, ["0", "@last: { .n = 0, .c = sh }"], "{printed}");
}

#[test]
fn buf_of_strings_are_map_keys_and_values() {
    if !can_trace("buf_of_strings_are_map_keys_and_values") {
        return;
    }
    let script = "tracepoint:syscalls:sys_enter_getppid /ppid == TID/ { @k[buf(comm), buf(\"ok_key\", 7)] = count(); \
                  @v = buf(\"hi\", 2); exit(); }";
    let printed = traced(script, "echo $PPID >/dev/null");
    let padding = "\\x00".repeat(14);
    let lines: Vec<&str> = printed.lines().filter(|line| !line.is_empty()).collect();
    assert_eq!(lines, [format!("@k[sh{padding}, ok_key\\x00]: 1").as_str(), "@v: hi"], "{printed}");
}

#[test]
fn buffers_compare_by_length_and_bytes() {
    if !can_trace("buffers_compare_by_length_and_bytes") {
        return;
    }
    // Different bytes of one length differ (bpftrace 0.27.1 says `buf("hi", 2) == buf("hx", 2)` is 1), as do lengths.
    let script = "tracepoint:syscalls:sys_enter_getppid /ppid == TID/ { $c = buf(comm); \
                  printf(\"%d %d %d %d\\n\", $c == buf(comm), buf(\"hi\", 2) == buf(\"hx\", 2), \
                  buf(\"hi\", 2) != buf(\"hi\", 3), $c == buf(\"sh\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\", 16)); exit(); }";
    let printed = traced(script, "echo $PPID >/dev/null");
    assert_eq!(printed.lines().next(), Some("1 0 1 1"), "{printed}");
}

#[test]
fn a_script_struct_embeds_a_kernel_struct_laid_out_from_btf() {
    if !can_trace("a_script_struct_embeds_a_kernel_struct_laid_out_from_btf") {
        return;
    }
    // bpftrace 0.27.1 gives the same offsets and size for this struct (8 3272 3280 on this host's 3264-byte
    // task_struct): the kernel struct's size and alignment come from BTF. Laid over the task 8 bytes before it,
    // `$p->t.pid` reads the task's own pid and name, as the kernel reports them.
    let script = "struct foo { char c; struct task_struct t; int after; } \
                  tracepoint:syscalls:sys_enter_getppid /pid == TID || ppid == TID/ { \
                  $p = (struct foo *)((uint64)curtask - offsetof(struct foo, t)); \
                  printf(\"%d %d %d %d %d %s %s\\n\", offsetof(struct foo, after) - offsetof(struct foo, t), \
                  sizeof(struct foo) - sizeof(struct task_struct), sizeof(struct task_struct), $p->t.pid, pid, \
                  $p->t.comm, comm); exit(); }";
    let printed = traced(script, "echo $PPID >/dev/null");
    let fields: Vec<&str> = printed.lines().next().unwrap_or_default().split(' ').collect();
    assert_eq!(fields.len(), 7, "{printed}");
    assert_eq!(fields[0], fields[2], "`after` follows the task: {printed}");
    assert_eq!(fields[1], "16", "the char before, padded to 8, and the int after, padded to 8: {printed}");
    assert_eq!(fields[3], fields[4], "{printed}");
    assert_eq!(fields[5], fields[6], "{printed}");
}

#[test]
fn struct_values_and_bitfields_read_as_bpftrace_prints_them() {
    if !can_trace("struct_values_and_bitfields_read_as_bpftrace_prints_them") {
        return;
    }
    // bpftrace's struct.struct with bitfield, and a nested struct with an array (its struct tests' layouts) laid
    // over a variable the kernel program filled with the task's pid: bpftrace 0.27.1 printed the same for
    // constant values.
    let script = "struct foo { unsigned long long x_0:1; unsigned long long x_1:1; unsigned long long x_2:2; } \
                  struct Y { int m[1]; } struct A { unsigned int n; } struct Foo { struct Y y; struct A a; } \
                  tracepoint:syscalls:sys_enter_getppid /pid == TID || ppid == TID/ { \
                  $val = (uint64)0x1e; $f = *(struct foo *)(&$val); print($f); print(sizeof(*(struct foo *)&$val)); \
                  $v = ((uint64)pid << 32) + 2; @s = *((struct Foo *)&$v); print((pid, (*(struct Foo *)&$v).a.n)); \
                  exit(); }";
    let printed = traced(script, "echo $PPID >/dev/null");
    let lines: Vec<&str> = printed.lines().filter(|line| !line.is_empty()).collect();
    assert_eq!(lines[0], "{ .x_0 = 0, .x_1 = 1, .x_2 = 3 }", "{printed}");
    assert_eq!(lines[1], "8", "C's size of the struct, as bpftrace's sizeof: {printed}");
    let (pid, n) = lines[2].trim_matches(|c| c == '(' || c == ')').split_once(", ").expect("a pair");
    assert_eq!(pid, n, "{printed}");
    assert_eq!(lines[3], format!("@s: {{ .y = {{ .m = [2] }}, .a = {{ .n = {pid} }} }}"), "{printed}");
}
