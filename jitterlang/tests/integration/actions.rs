//! Statements that act on the system (`signal()`, `system()`, `write_user()`, with `--unsafe`), and the count of
//! strings cut short by `str()`.

use crate::runtime::{printed, Tracing};
use crate::support::run_jl;
use jitterlib::testing::can_trace;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;

#[test]
fn signal_kills_the_traced_sleep_with_sigusr1() {
    if !can_trace("signal_kills_the_traced_sleep_with_sigusr1") {
        return;
    }
    let mut sleeper = Command::new("sleep").arg("3").spawn().expect("spawn sleep");
    let pid = sleeper.id().to_string();
    // The nanosleep returns after 3 s: its syscall exit, in the sleep's own context, sends the signal.
    let tracing = Tracing::start_with(
        &["--unsafe", "-p", &pid],
        r#"tracepoint:raw_syscalls:sys_exit { signal("SIGUSR1"); }"#,
        6.0,
    );
    let status = sleeper.wait().expect("wait for sleep");
    tracing.finish_text();
    assert_eq!(status.signal(), Some(libc::SIGUSR1), "sleep ended with {status}");
}

#[test]
fn system_runs_the_rendered_command() {
    if !can_trace("system_runs_the_rendered_command") {
        return;
    }
    let script = r#"BEGIN { system("echo hello %d from %s", 42, "jl"); exit(); }"#;
    let (code, out, err) = run_jl(&["--unsafe", "-e", script]);
    // bpftrace 0.27.1 prints these bytes: the output, then two newlines when tracing ends.
    assert_eq!((code, out.as_str()), (0, "hello 42 from jl\n\n\n"), "{err}");
    let (code, out, err) = run_jl(&["--unsafe", "-f", "json", "-e", script]);
    assert_eq!(code, 0, "{err}");
    let expected = concat!(
        r#"{"type": "attached_probes", "count": 1, "data": {"probes": 1}}"#,
        "\n",
        r#"{"type": "syscall", "data": "hello 42 from jl\n"}"#,
        "\n"
    );
    assert_eq!(out, expected, "bpftrace 0.27.1's bytes");
    let (code, _, err) = run_jl(&["-e", script]);
    assert_eq!(code, 2, "without --unsafe the script does not compile");
    assert!(err.contains("error[E0500]") && err.contains("--unsafe"), "{err}");
}

#[test]
fn write_user_rewrites_the_path_a_process_opens() {
    if !can_trace("write_user_rewrites_the_path_a_process_opens") {
        return;
    }
    let base = std::env::temp_dir().join(format!("jl-write-user-{}", std::process::id()));
    let (asked, given) = (format!("{}-a", base.display()), format!("{}-b", base.display()));
    std::fs::write(&asked, "asked\n").expect("write the file asked for");
    std::fs::write(&given, "given\n").expect("write the file given instead");
    // `cat`'s path argument is in its own memory: the probe overwrites it (and its NUL) before the kernel reads it.
    let script = format!(
        r#"tracepoint:syscalls:sys_enter_openat /str(args.filename) == "{asked}"/ {{
             printf("written: %d\n", write_user(args.filename, "{given}", {})); }}"#,
        given.len() + 1
    );
    let (code, out, err) = run_jl(&["--unsafe", "-c", &format!("cat {asked}"), "-e", &script]);
    let _ = (std::fs::remove_file(&asked), std::fs::remove_file(&given));
    if code == 1 && err.contains("cannot use helper bpf_probe_write_user") {
        // A locked-down kernel (lockdown=integrity) offers no program the helper: jl says so and why.
        assert!(err.contains("when not locked down"), "{err}");
        return;
    }
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("given\n") && !out.contains("asked\n"), "{out}");
    assert!(out.contains("written: 1\n"), "{out}");
}

#[test]
fn write_user_copies_no_more_than_its_string() {
    let kernel = jitterlib::kernel::FixtureKernel::bundled();
    let options = jitterlang::CompileOptions { unsafe_actions: true, ..jitterlang::CompileOptions::default() };
    let compile = |len: u32| {
        let source =
            format!("tracepoint:syscalls:sys_enter_openat {{ write_user(args.filename, \"1234567\", {len}); }}");
        jitterlang::compile_with(&source, &kernel, &options).map_err(|d| d.render("s", &source))
    };
    assert!(compile(8).is_ok());
    for len in [0, 9] {
        let error = compile(len).expect_err("a copy outside the string");
        assert!(error.contains(&format!("copies 1 to 8 bytes of a string[8], not {len}")), "{error}");
    }
}

#[test]
fn truncated_strings_are_counted() {
    if !can_trace("truncated_strings_are_counted") {
        return;
    }
    // openat from this thread only: other tests of this process open files too.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let script =
        format!("tracepoint:syscalls:sys_enter_openat /tid == {tid}/ {{ printf(\"%s\\n\", str(args.filename, 8)); }}");
    let tracing = Tracing::start(&script, 1.5);
    let long = std::env::temp_dir().join("jl-a-file-name-much-longer-than-eight-bytes");
    let opens = 25;
    for _ in 0..opens {
        let _ = std::fs::File::open(&long);
    }
    let lines = tracing.finish();
    let printed = printed(&lines);
    assert_eq!(printed.len(), opens, "{lines:?}");
    assert!(printed.iter().all(|text| text.len() == 8), "7 bytes and the newline: {printed:?}");
    let lost = lines.iter().find(|line| line["type"] == "lost").expect("lost record");
    assert_eq!(lost["data"]["str_truncated"], opens, "{lost}");
}

#[test]
fn failed_reads_are_counted() {
    if !can_trace("failed_reads_are_counted") {
        return;
    }
    // Address 8 and 16 are never mapped: a member read through a pointer and a str() both fail and read zeros.
    let script = "BEGIN { $p = (struct task_struct *)8; printf(\"%d [%s]\\n\", $p->pid, str(16)); exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("0 []\n"), "{out}");
    assert!(err.contains("jl: warning: 2 memory reads failed"), "{err}");
    let (code, out, err) = run_jl(&["-k", "-q", "-f", "json", "-e", script]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"read_failed\": 2"), "{out}");
    // A read that succeeds is not counted.
    let (code, _, err) = run_jl(&["-e", "BEGIN { printf(\"%d\\n\", curtask->pid); exit(); }"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("reads failed"), "{err}");
}
