//! The index of the kernel's BTF kept across runs (`JL_CACHE_DIR`): a run that reads it, one that finds it corrupt
//! and one that cannot keep it read the same struct members as the run that walked the BTF, and `jl -v` says
//! which happened.

use std::io::Read;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::runtime::map_data;
use crate::support::spawn_attached;
use jitterlib::testing::can_trace;

/// Runs `jl -v` with `JL_CACHE_DIR=dir` on this thread's next getppid, reading the parent's and this process's
/// pid through BTF offsets; returns what `jl -v` said of the BTF index, and checks the values.
fn parent_and_pid_with_cache(dir: &Path) -> String {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let script = format!(
        "tracepoint:syscalls:sys_enter_getppid /tid == {tid}/ \
         {{ @parent = curtask->real_parent->tgid; @pid = curtask->tgid; exit(); }}"
    );
    let mut command = Command::new(env!("CARGO_BIN_EXE_jl"));
    command.env("JL_CACHE_DIR", dir).args(["-v", "-f", "json", "--duration", "5", "-e", &script]);
    let (mut child, said, lines) = spawn_attached(&mut command);
    std::thread::spawn(move || for _ in lines {});
    // SAFETY: getppid has no preconditions; the raw syscall avoids any libc caching.
    unsafe { libc::syscall(libc::SYS_getppid) };
    let mut out = String::new();
    child.stdout.take().expect("stdout").read_to_string(&mut out).expect("read stdout");
    assert!(child.wait().expect("wait").success(), "jl failed:\n{said}{out}");
    let lines: Vec<Value> = out.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
    // SAFETY: getppid and getpid have no preconditions.
    let (parent, pid) = unsafe { (libc::getppid(), libc::getpid()) };
    assert_eq!(map_data(&lines, "@parent"), &Value::from(parent), "{said}{lines:?}");
    assert_eq!(map_data(&lines, "@pid"), &Value::from(pid), "{said}{lines:?}");
    said.lines().find(|line| line.contains("BTF index")).unwrap_or_else(|| panic!("no BTF index line:\n{said}")).into()
}

#[test]
fn a_kept_btf_index_reads_the_same_members_as_the_walk() {
    if !can_trace("a_kept_btf_index_reads_the_same_members_as_the_walk") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("jl-btf-index-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let file = dir.join("vmlinux-btf.index");
    let walked = parent_and_pid_with_cache(&dir);
    assert!(walked.contains("built by walking") && walked.contains("kept in"), "{walked}");
    let read = parent_and_pid_with_cache(&dir);
    assert_eq!(read, format!("jl: BTF index read from {} (kept by an earlier run)", file.display()));

    let mut bytes = std::fs::read(&file).expect("the index file");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(&file, &bytes).expect("corrupt the index file");
    let corrupt = parent_and_pid_with_cache(&dir);
    assert!(corrupt.contains("is corrupt (its checksum does not match)") && corrupt.contains("kept in"), "{corrupt}");
    assert!(parent_and_pid_with_cache(&dir).contains("read from"), "the walk kept a good index again");

    let not_a_dir = file.join("below");
    let unkept = parent_and_pid_with_cache(&not_a_dir);
    assert!(unkept.contains("built by walking") && unkept.contains("not kept: cannot create"), "{unkept}");
    std::fs::remove_dir_all(&dir).expect("remove the cache directory");
}
