//! User stacks: `ustack` keys and printf arguments resolved to the functions of a known C program
//! (tests/programs/ustack_target.c), and the addresses kept, with a note, once that process has exited.

use crate::runtime::{map_data, printed, Tracing};
use crate::targets::{build, Target};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::OnceLock;

/// getppid calls the target makes per request.
const CALLS: u32 = 50;

/// The target built with gcc (once per test run), or why it cannot be.
fn target_binary() -> Result<&'static PathBuf, &'static str> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| build("ustack_target.c", "ustack_target", &["-O0", "-fno-omit-frame-pointer"]));
    built.as_ref().map_err(String::as_str)
}

/// Starts the target, which makes `CALLS` getppid calls per request.
fn start(test: &str) -> Option<Target> {
    Target::start(test, target_binary(), &[&CALLS.to_string()])
}

/// Traces the target's getppid calls with `block` (`{ ... }`) for 1.5 s and returns jl's JSON output; with
/// `exit_first`, the target exits before jl prints its maps.
fn trace_calls(target: &mut Target, block: &str, exit_first: bool) -> Vec<Value> {
    let tracing =
        Tracing::start(&format!("tracepoint:syscalls:sys_enter_getppid /pid == {}/ {block}", target.pid), 1.5);
    assert_eq!(target.call("go"), "done\n");
    if exit_first {
        target.exit();
    }
    tracing.finish()
}

/// The frames of a stack key as jl prints it (one frame a line).
fn frames(key: &str) -> Vec<String> {
    key.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_string).collect()
}

/// The name of a frame: `jl_inner_frame+23` gives `jl_inner_frame`.
fn function(frame: &str) -> &str {
    frame.split('+').next().unwrap_or(frame)
}

#[test]
fn ustack_keys_name_the_functions_of_the_process() {
    let Some(mut target) = start("ustack_keys_name_the_functions_of_the_process") else { return };
    let lines = trace_calls(&mut target, "{ @[ustack] = count(); @two[ustack(2)] = count(); }", false);
    let stacks = map_data(&lines, "@").as_object().expect("keyed map").clone();
    assert_eq!(stacks.len(), 1, "one call site, one stack: {stacks:#?}");
    let (key, count) = stacks.iter().next().expect("a stack");
    assert_eq!(count, &Value::from(CALLS), "{stacks:#?}");
    let names: Vec<String> = frames(key).iter().map(|frame| function(frame).to_string()).collect();
    assert_eq!(names[..3], ["jl_inner_frame", "jl_outer_frame", "main"], "innermost first: {key}");
    let two = map_data(&lines, "@two").as_object().expect("keyed map").clone();
    let keys: Vec<Vec<String>> = two.keys().map(|key| frames(key)).collect();
    assert_eq!(keys, [frames(key)[..2].to_vec()], "ustack(2) keeps the two innermost frames: {two:#?}");
}

#[test]
fn printf_prints_user_and_kernel_stacks() {
    let Some(mut target) = start("printf_prints_user_and_kernel_stacks") else { return };
    let lines = trace_calls(&mut target, r#"{ printf("%s|%s\n", ustack(3), kstack); }"#, false);
    let printed = printed(&lines);
    assert_eq!(printed.len(), CALLS as usize, "{lines:#?}");
    let (user, kernel) = printed[0].split_once('|').expect("two stacks");
    let user: Vec<String> = frames(user).iter().map(|frame| function(frame).to_string()).collect();
    assert_eq!(user, ["jl_inner_frame", "jl_outer_frame", "main"], "{}", printed[0]);
    assert!(kernel.contains("do_syscall_64"), "{}", printed[0]);
}

#[test]
fn stacks_of_an_exited_process_keep_their_addresses() {
    let Some(mut target) = start("stacks_of_an_exited_process_keep_their_addresses") else { return };
    let pid = target.pid;
    let lines = trace_calls(&mut target, "{ @[ustack] = count(); }", true);
    let stacks = map_data(&lines, "@").as_object().expect("keyed map").clone();
    let (key, count) = stacks.iter().next().unwrap_or_else(|| panic!("a stack: {lines:#?}"));
    assert_eq!(count, &Value::from(CALLS));
    let note = format!(" (pid {pid} exited)");
    assert!(frames(key).len() >= 3, "{key:?}");
    for frame in frames(key) {
        let address = frame.strip_suffix(&note).unwrap_or_else(|| panic!("{frame:?} lacks {note:?}"));
        assert!(address.starts_with("0x") && u64::from_str_radix(&address[2..], 16).is_ok(), "{frame:?}");
    }
}
