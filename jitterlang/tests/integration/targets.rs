//! Small C programs of tests/programs/ that runtime tests build and drive: each prints its pid, then does its
//! work once per line read on stdin and replies with one line; it exits at the end of stdin.

use crate::support::data_dir;
use jitterlib::testing::{can_trace, skip};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// Builds tests/programs/SOURCE into the test binaries' directory as `output` with `gcc FLAGS`, or says why
/// it cannot be. Callers keep the result in a `OnceLock` so that it is built once per test run.
pub(crate) fn build(source: &str, output: &str, flags: &[&str]) -> Result<PathBuf, String> {
    let source = data_dir("programs").join(source);
    let binary = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(output);
    let status = Command::new("gcc")
        .args(flags)
        .arg("-o")
        .arg(&binary)
        .arg(&source)
        .status()
        .map_err(|error| format!("cannot run gcc: {error}"))?;
    if !status.success() {
        return Err(format!("gcc failed on {}: {status}", source.display()));
    }
    Ok(binary)
}

/// A running target: its pid, and the pipes that ask it for work.
pub(crate) struct Target {
    child: Child,
    requests: Option<ChildStdin>,
    replies: BufReader<ChildStdout>,
    /// The target's process id.
    pub(crate) pid: u32,
}

impl Target {
    /// Starts `binary ARGS` (the result of [`build`]), or says loudly why the test cannot run.
    pub(crate) fn start(test: &str, binary: Result<&PathBuf, &str>, args: &[&str]) -> Option<Target> {
        if !can_trace(test) {
            return None;
        }
        let binary = match binary {
            Ok(binary) => binary,
            Err(why) => {
                skip(test, format!("needs gcc to build its target program: {why}"));
                return None;
            }
        };
        let mut child =
            Command::new(binary).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("spawn");
        let requests = child.stdin.take();
        let mut replies = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        replies.read_line(&mut line).expect("the target's pid");
        let pid = line.trim().parse().unwrap_or_else(|_| panic!("not a pid: {line:?}"));
        Some(Target { child, requests, replies, pid })
    }

    /// Sends the target one line, and returns its reply once it has done the work.
    pub(crate) fn call(&mut self, request: &str) -> String {
        let requests = self.requests.as_mut().expect("the target is running");
        requests.write_all(format!("{request}\n").as_bytes()).and_then(|()| requests.flush()).expect("ask");
        let mut line = String::new();
        self.replies.read_line(&mut line).expect("the target's reply");
        line
    }

    /// Closes the target's input and waits for it to exit.
    pub(crate) fn exit(&mut self) {
        drop(self.requests.take());
        self.child.wait().expect("wait for the target");
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.exit();
    }
}
