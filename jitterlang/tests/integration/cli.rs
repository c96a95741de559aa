//! The command line itself: `-l` with `-v` in any order, and every output path ending quietly with status 0
//! when its reader went away (`jl -l | head`), instead of panicking on EPIPE.

use jitterlib::testing::can_trace;
use std::process::{Command, Output, Stdio};

/// Runs `jl ARGS` with standard output a pipe whose read end is already closed: every write fails with EPIPE.
fn into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_jl"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run jl")
}

/// Asserts `jl ARGS` ends with status 0 and says nothing when its output pipe is closed.
fn assert_quiet_on_closed_pipe(args: &[&str]) {
    let output = into_closed_pipe(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "jl {args:?} into a closed pipe: {}\n{stderr}", output.status);
    assert!(stderr.is_empty(), "jl {args:?} into a closed pipe wrote to stderr:\n{stderr}");
}

#[test]
fn listing_ends_quietly_on_a_closed_pipe() {
    if can_trace("listing_ends_quietly_on_a_closed_pipe") {
        assert_quiet_on_closed_pipe(&["-l"]);
        assert_quiet_on_closed_pipe(&["-lv", "tracepoint:irq:*"]);
    }
}

#[test]
fn help_ends_quietly_on_a_closed_pipe() {
    assert_quiet_on_closed_pipe(&["--help"]);
}

#[test]
fn script_list_ends_quietly_on_a_closed_pipe() {
    assert_quiet_on_closed_pipe(&["--list-scripts"]);
}

#[test]
fn completions_end_quietly_on_a_closed_pipe() {
    assert_quiet_on_closed_pipe(&["--completions", "bash"]);
}

#[test]
fn disassembly_ends_quietly_on_a_closed_pipe() {
    // The tracepoint's layout comes from tracefs, which only root can read.
    if can_trace("disassembly_ends_quietly_on_a_closed_pipe") {
        assert_quiet_on_closed_pipe(&["-d", "-e", "tracepoint:irq:softirq_entry { @[args.vec] = count(); }"]);
    }
}

#[test]
fn maps_printed_at_exit_end_quietly_on_a_closed_pipe() {
    if !can_trace("maps_printed_at_exit_end_quietly_on_a_closed_pipe") {
        return;
    }
    let output = into_closed_pipe(&["-e", "BEGIN { @answer = 42; exit(); }"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{}\n{stderr}", output.status);
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
}

/// What `jl ARGS` (a listing) prints, asserting that it succeeds.
fn listed(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_jl")).args(args).output().expect("run jl");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "jl {args:?}: {}\n{stderr}", output.status);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn list_verbose_takes_its_options_in_any_order() {
    if !can_trace("list_verbose_takes_its_options_in_any_order") {
        return;
    }
    let pattern = "tracepoint:irq:softirq_entry";
    let expected = "tracepoint:irq:softirq_entry\n    args.vec                  unsigned int\n";
    for args in [["-l", pattern, "-v"].as_slice(), &["-l", "-v", pattern], &["-lv", pattern], &["-vl", pattern]] {
        assert_eq!(listed(args), expected, "jl {args:?}");
    }
    assert_eq!(listed(&["-l", pattern]), "tracepoint:irq:softirq_entry\n", "without -v, no fields");
}

#[test]
fn list_names_each_fixed_target_and_a_raw_tracepoint_as_bpftrace_does() {
    if !can_trace("list_names_each_fixed_target_and_a_raw_tracepoint_as_bpftrace_does") {
        return;
    }
    // Lines bpftrace 0.27.1 prints for these patterns (bpftrace's basic runtime tests expect them).
    for (pattern, expected) in [
        ("software:*", "software:cpu:"),
        ("software:*", "software:page-faults:"),
        ("hardware:*", "hardware:cpu-cycles:"),
        ("interval:*", "interval:hz:"),
        ("interval:*", "interval:us:"),
        ("profile:*", "profile:s:"),
        ("*ware:*", "hardware:cache-misses:"),
    ] {
        let listed = listed(&["-l", pattern]);
        assert!(listed.lines().any(|line| line == expected), "jl -l {pattern}: no `{expected}` in\n{listed}");
    }
    let software = listed(&["-l", "software:*"]);
    assert!(!software.contains("hardware:") && !software.contains("interval:"), "{software}");
    let raw = listed(&["-lv", "rawtracepoint:sched_switch"]);
    assert!(raw.starts_with("rawtracepoint:sched_switch\n    args.preempt "), "{raw}");
    assert!(raw.contains("args.next ") && !raw.contains("__data"), "no context pointer: {raw}");
}

/// `jl -lv 'struct NAME'` prints the kernel's struct as C from BTF, as bpftrace does (its basic runtime tests expect
/// the `vmlinux: struct task_struct {` line); several, comma-separated, each in turn; `-l` alone names it.
#[test]
fn list_verbose_writes_kernel_structs_as_c() {
    if !can_trace("list_verbose_writes_kernel_structs_as_c") {
        return;
    }
    let both = listed(&["-lv", "struct task_struct,union bpf_attr"]);
    let (task, attr) = both.split_once("\n\nvmlinux: union bpf_attr {\n").unwrap_or_else(|| panic!("{both}"));
    assert!(task.starts_with("vmlinux: struct task_struct {\n") && task.ends_with("\n};"), "{task}");
    for member in ["\tchar comm[16];", "\tpid_t pid;", "\tstruct mm_struct *mm;", "\tconst struct cred *cred;"] {
        assert!(task.lines().any(|line| line == member), "no `{member}` line in\n{task}");
    }
    assert!(attr.starts_with("\tstruct {\n\t\t__u32 map_type;\n") && attr.ends_with("\n};\n\n"), "{attr}");
    assert_eq!(listed(&["-l", "struct task_struct"]), "struct task_struct\n");
    let output = Command::new(env!("CARGO_BIN_EXE_jl")).args(["-lv", "union task_struct"]).output().expect("run jl");
    assert_eq!(output.status.code(), Some(1), "task_struct is a struct, not a union");
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing matches `union task_struct`"));
}

#[test]
fn list_names_the_probes_of_a_program_or_a_script_file() {
    if !can_trace("list_names_the_probes_of_a_program_or_a_script_file") {
        return;
    }
    // bpftrace 0.27.1's listing of these probes: a counted probe by its target, without the count.
    let program = "hardware:cache-misses:10 { exit(); } tracepoint:irq:softirq_entry, i:ms:100 { exit(); }";
    let expected = "hardware:cache-misses:\ntracepoint:irq:softirq_entry\ninterval:ms:\n";
    assert_eq!(listed(&["-l", "-e", program]), expected);
    let file = std::env::temp_dir().join(format!("jl-list-{}.bt", std::process::id()));
    std::fs::write(&file, "interval:s:1 { exit(); }\ntracepoint:irq:softirq_e* { }\n").expect("write the script");
    let listed = listed(&["-l", &file.to_string_lossy()]);
    std::fs::remove_file(&file).expect("remove the script");
    assert_eq!(listed, "interval:s:\ntracepoint:irq:softirq_entry\ntracepoint:irq:softirq_exit\n");
}

#[test]
fn list_refuses_a_second_pattern() {
    let output = Command::new(env!("CARGO_BIN_EXE_jl")).args(["-l", "irq", "extra"]).output().expect("run jl");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "jl: -l takes one PATTERN, not also \"extra\" (quote a pattern with spaces)\n"
    );
}

/// `jl ARGS`: its exit code, standard output and standard error.
fn jl(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_jl")).args(args).stdin(Stdio::null()).output().expect("run jl");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.code(), text(&output.stdout), text(&output.stderr))
}

#[test]
fn probe_filter_runs_the_probes_it_matches_and_always_begin_and_end() {
    if !can_trace("probe_filter_runs_the_probes_it_matches_and_always_begin_and_end") {
        return;
    }
    // bpftrace 0.27.1's tests (tests/runtime/probe): the 100 ms probe would fire first and print `bad`.
    let program = r#"BEGIN { printf("begin\n"); } interval:ms:100 { printf("bad\n"); exit(); }
        interval:ms:200 { printf("hit\n"); exit(); } END { printf("end\n"); }"#;
    let (code, out, err) = jl(&["--probe-filter", ":200", "-e", program]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.lines().filter(|line| !line.is_empty()).collect::<Vec<_>>(), ["begin", "hit", "end"]);
    assert!(err.contains("Attached 3 probes"), "BEGIN, END and one interval: {err}");
    let (code, out, _) = jl(&["--probe-filter", "interval:ms:(200|300)", "-e", program]);
    assert_eq!((code, out.contains("hit"), out.contains("bad")), (Some(0), true, false), "{out}");
}

#[test]
fn probe_filter_matching_nothing_or_not_a_regex_is_an_error() {
    let (code, _, err) = jl(&["--probe-filter", "nonexistent_probe_xyz_42", "-e", "interval:ms:100 { exit(); }"]);
    assert_eq!(code, Some(1));
    assert_eq!(err, "jl: No probes to attach: none matches --probe-filter 'nonexistent_probe_xyz_42'\n");
    let (code, _, err) = jl(&["--probe-filter", "[invalid", "-e", "BEGIN { exit(); }"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("Invalid --probe-filter regex '[invalid': "), "{err}");
}

#[test]
fn mode_codegen_compiles_and_other_modes_say_what_to_use() {
    let (code, out, err) = jl(&["--mode", "codegen", "-e", r#"BEGIN { printf("never printed\n"); }"#]);
    assert_eq!((code, out.as_str(), err.as_str()), (Some(0), "", ""));
    let (code, _, err) = jl(&["--mode", "codegen", "-e", "BEGIN { @x = nosuch; }"]);
    assert_eq!(code, Some(2), "the script is still checked: {err}");
    for (mode, instead) in [("test", "--dry-run"), ("format", "-d")] {
        let (code, _, err) = jl(&["--mode", mode, "-e", "BEGIN { exit(); }"]);
        assert_eq!(code, Some(2), "--mode {mode}");
        assert!(err.starts_with(&format!("jl: --mode {mode} ")) && err.contains(instead), "{err}");
    }
}

#[test]
fn bpftrace_options_jl_refuses_say_what_to_use_instead() {
    let refused: [(&[&str], &str); 7] = [
        (&["--include", "errno.h"], "no C preprocessor"),
        (&["-I", "/usr/include"], "no C preprocessor"),
        (&["--traceable-functions", "/dev/null"], "reads them from the kernel"),
        (&["--dwarf-pid", "1"], "frame pointers"),
        (&["-B", "line"], "flushes its output after each event"),
        (&["--test"], "--mode test runs bpftrace's `test:` probes"),
        (&["--fmt"], "no formatter"),
    ];
    for (flags, instead) in refused {
        let mut args = flags.to_vec();
        args.extend(["-e", "BEGIN { exit(); }"]);
        let (code, out, err) = jl(&args);
        assert_eq!((code, out.as_str()), (Some(2), ""), "{flags:?}");
        assert!(err.starts_with("jl: ") && err.contains(instead) && err.lines().count() == 1, "{flags:?}: {err}");
    }
}

#[test]
fn info_says_what_the_kernel_offers_jl() {
    let (code, out, err) = jl(&["--info"]);
    assert_eq!(code, Some(0), "{err}");
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("the kernel release");
    assert!(out.starts_with(&format!("System\n  OS: Linux {} ", release.trim())), "{out}");
    let btf = std::path::Path::new("/sys/kernel/btf/vmlinux").exists();
    assert!(out.contains(if btf { "\n  btf: yes\n" } else { "\n  btf: no (" }), "{out}");
    // kprobe_multi and kprobe_session are said only where they are sure: absent with kprobes themselves.
    let kprobes = out.contains("\n  kprobe: yes\n");
    assert!(kprobes || out.contains("\n  kprobe: no ("), "{out}");
    assert_eq!(out.contains("\n  kprobe_session: no (no kprobes)\n"), !kprobes, "{out}");
}

#[test]
fn emit_elf_is_emit_obj() {
    let path = std::env::temp_dir().join(format!("jl-emit-elf-{}.o", std::process::id()));
    let (code, _, err) = jl(&["--emit-elf", &path.to_string_lossy(), "-e", "BEGIN { exit(); }"]);
    let object = std::fs::read(&path);
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, Some(0), "{err}");
    assert!(object.expect("written").starts_with(b"\x7fELF"));
}

#[test]
fn a_script_named_dash_is_read_from_standard_input() {
    if !can_trace("a_script_named_dash_is_read_from_standard_input") {
        return;
    }
    // bpftrace's `bpftrace - < script.bt` (its basic.piped script test).
    let mut child = Command::new(env!("CARGO_BIN_EXE_jl"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run jl");
    let mut stdin = child.stdin.take().expect("stdin");
    std::io::Write::write_all(&mut stdin, b"BEGIN { printf(\"hello world!\\n\"); warnf(\"w\"); exit(); }\n")
        .expect("write");
    drop(stdin);
    let output = child.wait_with_output().expect("wait for jl");
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "hello world!", "{err}");
    // As bpftrace names it (and a `-e` program) in warnf() and errorf() messages.
    assert!(err.contains("stdin:1:35-45: WARNING: w"), "{err}");
    // Diagnostics name it (an empty standard input has no probes).
    let (code, _, err) = jl(&["-"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("the script has no probes\n  --> <stdin>:1:1"), "{err}");
}

#[test]
fn pid_of_no_process_is_refused() {
    // A filter on a PID no process has would trace nothing; bpftrace refuses 5000000 too (out of range).
    let (code, _, err) = jl(&["-p", "5000000", "-e", "BEGIN { exit(); }"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("invalid value '5000000' for '--pid <PID>': no process has PID 5000000"), "{err}");
    let (code, _, err) = jl(&["-p", "a1111", "-e", "BEGIN { exit(); }"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("a PID is a decimal number"), "{err}");
}

#[test]
fn list_of_a_missing_script_file_says_no_file_has_that_name() {
    if !can_trace("list_of_a_missing_script_file_says_no_file_has_that_name") {
        return;
    }
    let (code, _, err) = jl(&["-l", "non_existent_file.bt"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(
        err,
        "jl: nothing matches `non_existent_file.bt`, and no file has that name (`jl -l FILE` lists a script's \
         probes)\n"
    );
}
