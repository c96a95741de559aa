//! cgroup ids turned into paths, as bpftrace's `cgroup_path()` prints them: for every cgroup hierarchy mounted
//! (the cgroup v2 ones named `unified`, wherever they are mounted, then the v1 ones by their mount directory's name,
//! sorted), the directory whose inode number is the id, relative to the mount: `unified:/user.slice,memory:/`.
//!
//! The id is looked up when the value is printed, in the hierarchies mounted then; hierarchies where no directory
//! has it are left out, so an id found nowhere prints as an empty string (as in bpftrace).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where the mounts are listed.
const MOUNTS: &str = "/proc/mounts";

/// The name every cgroup v2 hierarchy is printed with.
const UNIFIED: &str = "unified";

/// Which hierarchies a `cgroup_path(id, "filter")` looks in: a wildcard pattern (`*`) over their names (`unified`,
/// `memory`, ...). Interned for the life of the process so that it is `Copy`, as the types carrying it: a script
/// writes few.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CgroupFilter(&'static str);

impl CgroupFilter {
    /// The hierarchies whose names match `pattern`.
    pub fn new(pattern: &str) -> CgroupFilter {
        static INTERNED: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
        let mut interned = INTERNED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(known) = interned.iter().find(|known| **known == pattern) {
            return CgroupFilter(known);
        }
        let leaked: &'static str = Box::leak(pattern.to_string().into_boxed_str());
        interned.push(leaked);
        CgroupFilter(leaked)
    }

    /// Every hierarchy (`*`), when no filter is given.
    pub fn all() -> CgroupFilter {
        CgroupFilter::new("*")
    }

    /// The pattern as written.
    pub fn pattern(self) -> &'static str {
        self.0
    }
}

/// Resolves cgroup ids to paths, remembering where each was found (checked again before it is reused, as a
/// cgroup may have been removed and its inode number reused).
#[derive(Debug, Default)]
pub struct CgroupPaths {
    found: Mutex<HashMap<(u64, PathBuf), String>>,
}

impl CgroupPaths {
    /// An empty cache.
    pub fn new() -> CgroupPaths {
        CgroupPaths::default()
    }

    /// `NAME:PATH` for each hierarchy `filter` selects that has the cgroup `id`, joined with `,`.
    ///
    /// ```no_run
    /// use jitterlib::cgroup::{CgroupFilter, CgroupPaths};
    ///
    /// println!("{}", CgroupPaths::new().describe(1, CgroupFilter::all()));
    /// ```
    pub fn describe(&self, id: u64, filter: CgroupFilter) -> String {
        let mounts = std::fs::read_to_string(MOUNTS).unwrap_or_default();
        let found: Vec<String> = hierarchies(&mounts)
            .into_iter()
            .filter(|(name, _)| crate::glob::glob(filter.pattern(), name))
            .filter_map(|(name, root)| Some(format!("{name}:{}", self.path_in(id, &root)?)))
            .collect();
        found.join(",")
    }

    /// The path of cgroup `id` below the hierarchy mounted at `root` (`/` for the root itself).
    fn path_in(&self, id: u64, root: &Path) -> Option<String> {
        let mut found = self.found.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (id, root.to_path_buf());
        if let Some(path) = found.get(&key) {
            if std::fs::metadata(root.join(path.trim_start_matches('/'))).is_ok_and(|meta| meta.ino() == id) {
                return Some(path.clone());
            }
        }
        let path = if std::fs::metadata(root).ok()?.ino() == id { "/".to_string() } else { search(root, root, id)? };
        found.insert(key, path.clone());
        Some(path)
    }
}

/// The cgroup hierarchies of a `/proc/mounts` text that are directories: (name, mount point), the v2 ones first
/// (named `unified`), then the v1 ones (named by their mount directory) sorted.
fn hierarchies(mounts: &str) -> Vec<(String, PathBuf)> {
    let mut unified = Vec::new();
    let mut v1 = Vec::new();
    for line in mounts.lines() {
        let mut fields = line.split_whitespace();
        let (Some(source), Some(point)) = (fields.next(), fields.next()) else { continue };
        let point = PathBuf::from(unescape(point));
        if !point.is_dir() {
            continue;
        }
        match source {
            "cgroup2" => unified.push((UNIFIED.to_string(), point)),
            "cgroup" => {
                let name = point.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
                v1.push((name, point));
            }
            _ => {}
        }
    }
    v1.sort();
    unified.extend(v1);
    unified
}

/// A mount point as `/proc/mounts` writes it, its spaces, tabs, newlines and backslashes octal-escaped.
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 4).and_then(|digits| u8::from_str_radix(digits, 8).ok());
        match code {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[at + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The directory below `dir` whose inode number is `id`, as a path from `root` (`/a/b`).
fn search(root: &Path, dir: &Path, id: u64) -> Option<String> {
    let mut below = Vec::new();
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_dir() {
            continue;
        }
        if meta.ino() == id {
            let relative = entry.path().strip_prefix(root).ok()?.to_string_lossy().into_owned();
            return Some(format!("/{relative}"));
        }
        below.push(entry.path());
    }
    below.iter().find_map(|sub| search(root, sub, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchies_list_v2_first_then_v1_sorted() {
        let dir = std::env::temp_dir().join(format!("jl-cgroup-mounts-{}", std::process::id()));
        for sub in ["unified", "memory", "cpu", "with space"] {
            std::fs::create_dir_all(dir.join(sub)).expect("create a directory");
        }
        let at = |sub: &str| dir.join(sub);
        let mounts = format!(
            "tmpfs /tmp tmpfs rw 0 0\ncgroup {} cgroup rw,memory 0 0\ncgroup2 {} cgroup2 rw 0 0\n\
             cgroup {} cgroup rw,cpu 0 0\ncgroup {}/gone cgroup rw 0 0\ncgroup {}/with\\040space cgroup rw 0 0\n",
            at("memory").display(),
            at("unified").display(),
            at("cpu").display(),
            dir.display(),
            dir.display(),
        );
        let names: Vec<(String, PathBuf)> = hierarchies(&mounts);
        std::fs::remove_dir_all(&dir).expect("clean up");
        let expected = [("unified", "unified"), ("cpu", "cpu"), ("memory", "memory"), ("with space", "with space")];
        let expected: Vec<(String, PathBuf)> = expected.iter().map(|(name, sub)| (name.to_string(), at(sub))).collect();
        assert_eq!(names, expected, "a mount point that is not a directory is left out");
    }

    #[test]
    fn directories_are_found_by_inode_below_a_root() {
        let root = std::env::temp_dir().join(format!("jl-cgroup-tree-{}", std::process::id()));
        let leaf = root.join("a.slice").join("b");
        std::fs::create_dir_all(&leaf).expect("create the tree");
        let ino = std::fs::metadata(&leaf).expect("stat").ino();
        let paths = CgroupPaths::new();
        assert_eq!(paths.path_in(ino, &root).as_deref(), Some("/a.slice/b"));
        assert_eq!(paths.path_in(ino, &root).as_deref(), Some("/a.slice/b"), "again, from the cache");
        let root_ino = std::fs::metadata(&root).expect("stat").ino();
        assert_eq!(paths.path_in(root_ino, &root).as_deref(), Some("/"));
        std::fs::remove_dir_all(&root).expect("clean up");
        assert_eq!(paths.path_in(ino, &root), None, "gone, and the cache knows");
    }

    #[test]
    fn filters_are_interned() {
        assert_eq!(CgroupFilter::new("mem*"), CgroupFilter::new("mem*"));
        assert_eq!(CgroupFilter::all().pattern(), "*");
    }
}
