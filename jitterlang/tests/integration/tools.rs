//! README.md's two commands: no `sudo` in them (a fresh root-only machine has none), `.ci/run` runs exactly the
//! test command, and the tools they start need root and say so, or run themselves again with sudo.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace's top directory.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shell lines of README.md's "The two commands" section.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("read README.md");
    let section = readme.split("## The two commands").nth(1).expect("a section `## The two commands`");
    let section = section.split("\n## ").next().unwrap_or_default();
    let mut in_block = false;
    let mut commands = Vec::new();
    for line in section.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
        } else if in_block {
            commands.push(line.to_string());
        }
    }
    commands
}

#[test]
fn readme_commands_need_no_sudo_and_ci_runs_the_test_command() {
    let commands = readme_commands();
    assert_eq!(commands.len(), 2, "{commands:?}");
    for command in &commands {
        assert!(!command.split_whitespace().any(|word| word == "sudo"), "README.md: {command}");
    }
    let ci = std::fs::read_to_string(workspace().join(".ci/run")).expect("read .ci/run");
    let exec = format!("exec {}", commands[1]);
    assert!(ci.lines().any(|line| line.trim() == exec), ".ci/run must `{exec}`:\n{ci}");
}

/// Where a system command is installed.
fn installed(tool: &str) -> PathBuf {
    let found = ["/usr/bin", "/bin"].iter().map(|dir| Path::new(dir).join(tool)).find(|path| path.exists());
    found.unwrap_or_else(|| panic!("{tool} is not installed"))
}

/// A directory to use as the whole PATH: what the tools' root check runs (bash, id, basename, dirname), plus
/// `extra` executables `(name, shell script)`.
fn bin_dir(test: &str, extra: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jl-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create bin dir");
    for tool in ["bash", "id", "basename", "dirname"] {
        let link = dir.join(tool);
        if !link.exists() {
            std::os::unix::fs::symlink(installed(tool), link).expect("symlink");
        }
    }
    for (name, script) in extra {
        let path = dir.join(name);
        std::fs::write(&path, script).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    dir
}

/// Runs `tools/TOOL --check` as a user who is not root (nobody, when the tests run as root) with PATH `path`.
fn run_unprivileged(tool: &str, path: &Path) -> (Output, PathBuf) {
    let script = workspace().join("tools").join(tool).canonicalize().expect("the tool exists");
    // SAFETY: geteuid has no preconditions.
    let mut command = if unsafe { libc::geteuid() } == 0 {
        let mut command = Command::new(installed("setpriv"));
        command.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"]).arg(&script);
        command
    } else {
        Command::new(&script)
    };
    let output = command.arg("--check").env_clear().env("PATH", path).output().expect("run the tool");
    (output, script)
}

#[test]
fn tools_say_they_need_root_where_there_is_no_sudo() {
    let path = bin_dir("no-sudo", &[]);
    for tool in ["setup-host", "test-all"] {
        let (output, _) = run_unprivileged(tool, &path);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{tool}: {stderr}");
        assert!(stderr.starts_with(&format!("{tool}: needs root")), "{tool}: {stderr}");
        assert!(stderr.contains("there is no sudo here"), "{tool}: {stderr}");
        assert_eq!(stderr.contains("--unprivileged"), tool == "test-all", "{tool}: {stderr}");
    }
}

#[test]
fn tools_run_themselves_again_with_sudo_where_there_is_one() {
    let path = bin_dir("fake-sudo", &[("sudo", "#!/bin/sh\necho \"sudo $*\"\n")]);
    for tool in ["setup-host", "test-all"] {
        let (output, script) = run_unprivileged(tool, &path);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{tool}: {stderr}");
        assert_eq!(String::from_utf8_lossy(&output.stdout), format!("sudo -- {} --check\n", script.display()));
        assert_eq!(stderr, format!("{tool}: needs root: running it again with sudo\n"));
    }
}
