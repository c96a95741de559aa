//! Bad input: every script in `tests/bad-input/` is run through the real `jl` binary, which must exit with
//! code 2 and print exactly the diagnostic in the script's `.err` snapshot (never a panic, never a crash).
//! Runtime failures exit with code 1 instead.

use crate::support::{assert_no_mismatch, check_snapshot, data_dir, scripts};
use jitterlib::testing::{can_trace, skip};
use std::process::Command;

#[test]
fn malformed_scripts_fail_with_their_snapshot_diagnostic() {
    // The real jl reads tracepoint layouts from tracefs, which only root can read.
    if !can_trace("malformed_scripts_fail_with_their_snapshot_diagnostic") {
        return;
    }
    let dir = data_dir("bad-input");
    let mut mismatches = Vec::new();
    let all = scripts(&dir);
    assert!(all.len() >= 50, "only {} bad-input scripts", all.len());
    for script in all {
        let name = script.file_name().and_then(|n| n.to_str()).expect("file name");
        let output = Command::new(env!("CARGO_BIN_EXE_jl")).arg(name).current_dir(&dir).output().expect("run jl");
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.code() != Some(2) {
            mismatches.push(format!("{name}: exit {:?}, not 2\n{stderr}", output.status));
            continue;
        }
        mismatches.extend(check_snapshot(&script, "err", &stderr));
    }
    assert_no_mismatch(mismatches);
}

#[test]
fn unprivileged_run_exits_1_naming_the_capabilities() {
    if !can_trace("unprivileged_run_exits_1_naming_the_capabilities") {
        return;
    }
    // A copy outside the target directory, which `nobody` may not be able to reach. Named by thread id: a
    // getpid here would be counted by the runtime test that counts this process's getpid calls.
    // SAFETY: gettid has no preconditions.
    let copy = std::env::temp_dir().join(format!("jl-unprivileged-{}", unsafe { libc::gettid() }));
    std::fs::copy(env!("CARGO_BIN_EXE_jl"), &copy).expect("copy jl");
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
        .arg(&copy)
        .args(["-e", "BEGIN { exit(); }"])
        .output();
    let _ = std::fs::remove_file(&copy);
    let output = match output {
        Ok(output) => output,
        Err(error) => {
            skip("unprivileged_run_exits_1_naming_the_capabilities", format!("no setpriv: {error}"));
            return;
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    assert!(stderr.contains("CAP_BPF") && stderr.contains("CAP_PERFMON"), "{stderr}");
}
