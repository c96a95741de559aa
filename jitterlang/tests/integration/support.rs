//! Shared helpers: snapshot comparison against files under the workspace's `tests/`, and load generators.

use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};

/// The workspace's top-level `tests/` directory.
pub fn data_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("tests").join(name)
}

/// Every `*.jl` file in a data directory, sorted.
pub fn scripts(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jl"))
        .collect();
    found.sort();
    found
}

/// The value of the header line `// KEY: VALUE` among a golden script's leading comment lines (`// kernel:
/// fentry`: written for a kernel where fentry works).
pub fn golden_header<'a>(source: &'a str, key: &str) -> Option<&'a str> {
    source.lines().take_while(|line| line.starts_with("//")).find_map(|line| line.strip_prefix(&format!("// {key}: ")))
}

/// Compares `actual` with the snapshot next to `script` (extension `ext`). With `JL_BLESS=1` the snapshot
/// is (re)written instead. Returns a description of the mismatch, if any.
pub fn check_snapshot(script: &Path, ext: &str, actual: &str) -> Option<String> {
    let snapshot = script.with_extension(ext);
    if std::env::var_os("JL_BLESS").is_some() {
        std::fs::write(&snapshot, actual).expect("write snapshot");
        return None;
    }
    let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
    if expected == actual {
        return None;
    }
    Some(format!(
        "{} differs from its snapshot {} (JL_BLESS=1 rewrites it)\n--- expected\n{expected}\n--- actual\n{actual}",
        script.display(),
        snapshot.display()
    ))
}

/// Asserts no mismatches were collected, printing them all.
pub fn assert_no_mismatch(mismatches: Vec<String>) {
    assert!(mismatches.is_empty(), "{} snapshot(s) differ:\n\n{}", mismatches.len(), mismatches.join("\n\n"));
}

/// Loopback TCP connections: each raises NET_RX softirqs on this host.
pub fn loopback_traffic(connections: usize) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    for _ in 0..connections {
        let _client = std::net::TcpStream::connect(address).expect("connect");
        let _ = listener.accept();
    }
}

/// Starts `jl ARGS` and waits until it says its probes are attached.
pub fn start_attached(args: &[&str]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jl"));
    command.args(args);
    let (child, _, lines) = spawn_attached(&mut command);
    std::thread::spawn(move || for _ in lines {});
    child
}

/// `jl ARGS` with `JL_TRACEPOINT_MECHANISM` set to `mechanism` (removed for `None`, so jl chooses).
pub fn jl_with_mechanism(mechanism: Option<&str>, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jl"));
    command.args(args);
    match mechanism {
        Some(mechanism) => command.env("JL_TRACEPOINT_MECHANISM", mechanism),
        None => command.env_remove("JL_TRACEPOINT_MECHANISM"),
    };
    command
}

/// Spawns `command` (a jl) with its output piped and reads its standard error up to the `Attached` line: the
/// child, the lines read (that one included, each ending in a newline) and the rest of its standard error, for
/// the caller to read or drain. Panics with what jl said when it ends before attaching.
pub fn spawn_attached(command: &mut Command) -> (Child, String, Lines<BufReader<ChildStderr>>) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn jl");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut said = String::new();
    loop {
        match lines.next() {
            Some(Ok(line)) => {
                said.push_str(&line);
                said.push('\n');
                if line.starts_with("Attached") {
                    return (child, said, lines);
                }
            }
            _ => panic!("jl exited before attaching: {said}{:?}", child.wait()),
        }
    }
}

/// Runs `jl ARGS` to its end: its exit code (-1 when a signal ended it), standard output and standard error.
pub fn run_jl(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_jl")).args(args).output().expect("run jl");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
