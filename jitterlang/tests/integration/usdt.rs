//! USDT probes on a real process: a C program with `<sys/sdt.h>` probes the tests build
//! (tests/programs/usdt_target.c); argument values as the program passed them, every site of a probe, and
//! a semaphore-guarded probe that fires while jl is attached.

use crate::runtime::{map_data, Tracing};
use crate::support::run_jl;
use crate::targets::{build, Target};
use crate::uprobes::trace_binary;
use jitterlib::testing::can_trace;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::OnceLock;

/// Times each request fires each probe.
const CALLS: u32 = 3;

fn target_binary() -> Result<&'static PathBuf, &'static str> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(|| build("usdt_target.c", "usdt_target", &["-O1"])).as_ref().map_err(String::as_str)
}

fn trace(test: &str, script: &str, requests: &[&str]) -> Option<Vec<Value>> {
    let mut target = Target::start(test, target_binary(), &[&CALLS.to_string()])?;
    let binary = target_binary().expect("built");
    Some(trace_binary(binary, &mut target, &[], script, requests))
}

#[test]
fn usdt_arguments_have_the_values_the_program_passed() {
    // jl:tick(i, -i, line) from two sites; jl:wide(5e9 * i from the stack, (short)-7 * i, 42, (uchar)200 + i).
    let Some(lines) = trace(
        "usdt_arguments_have_the_values_the_program_passed",
        "usdt:BIN:jl:tick /pid == PID/ { @tick[arg0, arg1, str(arg2)] = count(); }
         usdt:BIN:wide /pid == PID/ { @wide[arg0, arg1, arg2, arg3] = count(); }",
        &["alice", "bob"],
    ) else {
        return;
    };
    let tick: serde_json::Map<String, Value> =
        (1..=CALLS).flat_map(|i| ["alice", "bob"].map(|name| (format!("{i},-{i},{name}"), json!(1)))).collect();
    assert_eq!(map_data(&lines, "@tick"), &Value::Object(tick));
    let wide: serde_json::Map<String, Value> = (1..=u64::from(CALLS))
        .map(|i| (format!("{},-{},42,{}", 5_000_000_000 * i, 7 * i, 200 + i), json!(2)))
        .collect();
    assert_eq!(map_data(&lines, "@wide"), &Value::Object(wide));
}

#[test]
fn usdt_wildcards_attach_every_probe() {
    let Some(lines) = trace(
        "usdt_wildcards_attach_every_probe",
        "usdt:BIN:jl:* /pid == PID/ { @calls = count(); } usdt:BIN:*:t?ck /pid == PID/ { @ticks = count(); }",
        &["x"],
    ) else {
        return;
    };
    // tick, wide and guarded (its semaphore set while jl is attached) per call.
    assert_eq!(map_data(&lines, "@calls"), &json!(3 * CALLS));
    assert_eq!(map_data(&lines, "@ticks"), &json!(CALLS));
}

#[test]
fn semaphores_are_set_while_jl_is_attached() {
    let test = "semaphores_are_set_while_jl_is_attached";
    let Some(mut target) = Target::start(test, target_binary(), &[&CALLS.to_string()]) else { return };
    // The reply's last word is jl:guarded's semaphore: the program fires the probe only when it is not zero.
    let semaphore = |reply: String| reply.split_whitespace().last().expect("a reply").to_string();
    assert_eq!(semaphore(target.call("before")), "0");
    let binary = target_binary().expect("built").display().to_string();
    let script = format!("usdt:{binary}:jl:guarded /pid == {}/ {{ @[arg0] = count(); }}", target.pid);
    let tracing = Tracing::start_with(&["-f", "json"], &script, 1.5);
    assert_eq!(semaphore(target.call("during")), "1");
    let lines = tracing.finish();
    assert_eq!(map_data(&lines, "@"), &json!({"1": 1, "2": 1, "3": 1}));
    assert_eq!(semaphore(target.call("after")), "0", "the kernel decrements it when jl detaches");
}

#[test]
fn listing_a_binary_prints_its_usdt_probes() {
    let binary = target_binary().expect("gcc builds the target (needs systemtap-sdt-dev)").display().to_string();
    let (code, stdout, stderr) = run_jl(&["-l", &format!("usdt:{binary}:*")]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, format!("usdt:{binary}:jl:guarded\nusdt:{binary}:jl:tick\nusdt:{binary}:jl:wide\n"));
    let (code, every, stderr) = run_jl(&["-l", &format!("usdt:{binary}")]);
    assert_eq!((code, every), (0, stdout), "{stderr}");
    let (code, stdout, stderr) = run_jl(&["-l", &format!("usdt:{binary}:jl:t*")]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, format!("usdt:{binary}:jl:tick\n"));
}

#[test]
fn sites_and_semaphores_are_in_the_verbose_notes() {
    if !can_trace("sites_and_semaphores_are_in_the_verbose_notes") {
        return;
    }
    let binary = target_binary().expect("gcc builds the target (needs systemtap-sdt-dev)").display().to_string();
    let script = format!("usdt:{binary}:jl:tick {{ @ = count(); }} interval:ms:100 {{ exit(); }}");
    let (code, _, stderr) = run_jl(&["-v", "-e", &script]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("jl:tick: 2 site(s) in"), "{stderr}");
    assert!(stderr.contains("has a semaphore at 0x") && stderr.contains("the kernel increments while jl is attached"));
}
