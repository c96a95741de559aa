//! The index of the running kernel's BTF, kept across runs: what the walk of its 126 000 types finds (where
//! every 32nd type starts, the sorted tables of name hashes) read back from a small file instead of walked
//! again, which spares every later run the walk (1.3 ms on Linux 6.18) and the searches of the 2.3 MB string
//! section its first lookups make (0.17 ms each).
//!
//! The file is used only when it fits this kernel and this jl, else the walk runs as if there were none:
//! - its key must be this kernel's: the build id in `/sys/kernel/notes`, the size and modification time of
//!   `/sys/kernel/btf/vmlinux` (sysfs dates it at boot), a checksum of the blob's header and of its first and
//!   last pages, and the index format, checkpoint stride and name hash of this jl;
//! - its CRC-32 must match its contents, its lengths the counts it states (a truncated file fails both);
//! - it must be owned by the user running jl and writable by nobody else;
//! - [`Layer::adopt`] checks what it can without walking (see there).
//!
//! Each lookup still reads the types' own names from the blob, so a table entry naming a wrong type is
//! skipped. A cache directory that cannot be created or written costs nothing but the walk: the file is only
//! built when its temporary file could be created, and is written whole under another name, then renamed,
//! so that concurrent runs never read a half-written file. Only vmlinux' BTF is kept; modules' is walked
//! (it is small).

use std::fs::{File, Metadata, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use object::elf::{self, FileHeader64};
use object::read::elf::NoteIterator;
use object::NativeEndian;

use super::layer::{name_hash, Index, Layer, Table, CHECKPOINT_STRIDE};
use crate::kernel::KernelError;

/// The file's name in the cache directory.
const FILE_NAME: &str = "vmlinux-btf.index";
/// The ELF notes of the running kernel, its build id among them.
const KERNEL_NOTES: &str = "/sys/kernel/notes";
/// The first bytes of an index file.
const MAGIC: [u8; 8] = *b"jlBTFidx";
/// The layout of the file and of the index: bump when either changes.
const FORMAT: u32 = 1;
/// Larger files are not index files (Linux 6.18's is 0.6 MB).
const MAX_FILE_LEN: u64 = 64 << 20;
/// Bytes before the key: the magic and six words.
const HEADER_LEN: usize = 32;

/// Where the running kernel's BTF index came from this run: for `jl -v`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexOrigin {
    /// Read from the file kept by an earlier run.
    Kept {
        /// The file.
        path: PathBuf,
    },
    /// Built by walking the blob.
    Walked {
        /// Why no kept file was used.
        missed: String,
        /// Where it was kept for the next run, or why it was not.
        written: Result<PathBuf, String>,
    },
}

impl std::fmt::Display for IndexOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IndexOrigin::Kept { path } => write!(f, "BTF index read from {} (kept by an earlier run)", path.display()),
            IndexOrigin::Walked { missed, written } => {
                write!(f, "BTF index built by walking {} ({missed}); ", super::VMLINUX_BTF)?;
                match written {
                    Ok(path) => write!(f, "kept in {} for the next run", path.display()),
                    Err(why) => write!(f, "not kept: {why}"),
                }
            }
        }
    }
}

/// What an index file must be keyed by to belong to this kernel and this jl.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Identity {
    key: Vec<u8>,
}

impl Identity {
    /// The identity of a blob with this kernel build id, file size and modification time (seconds,
    /// nanoseconds) and [`Layer::fingerprint`].
    pub(super) fn new(build_id: &[u8], size: u64, modified: (i64, i64), fingerprint: u32) -> Identity {
        let mut key = Vec::with_capacity(64);
        for word in [FORMAT, CHECKPOINT_STRIDE, name_hash(b"btf_trace_sched_switch"), build_id.len() as u32] {
            key.extend_from_slice(&word.to_ne_bytes());
        }
        key.extend_from_slice(build_id);
        key.extend_from_slice(&size.to_ne_bytes());
        key.extend_from_slice(&modified.0.to_ne_bytes());
        key.extend_from_slice(&modified.1.to_ne_bytes());
        key.extend_from_slice(&fingerprint.to_ne_bytes());
        Identity { key }
    }

    /// The identity of the running kernel's BTF, `layer` read from the file `metadata` describes; why there is
    /// none when the kernel does not show its build id.
    pub(super) fn of_running(layer: &Layer, metadata: &Metadata) -> Result<Identity, String> {
        let notes = std::fs::read(KERNEL_NOTES).map_err(|error| format!("cannot read {KERNEL_NOTES}: {error}"))?;
        let build_id = build_id(&notes).ok_or_else(|| format!("{KERNEL_NOTES} has no build id"))?;
        let fingerprint = layer.fingerprint().map_err(|error| error.to_string())?;
        Ok(Identity::new(build_id, metadata.len(), (metadata.mtime(), metadata.mtime_nsec()), fingerprint))
    }
}

/// The build id in a kernel's ELF notes (4-byte aligned, in the running kernel's byte order), `None` when no
/// note holds one.
fn build_id(notes: &[u8]) -> Option<&[u8]> {
    let mut notes = NoteIterator::<FileHeader64<NativeEndian>>::new(NativeEndian, 4, notes).ok()?;
    while let Ok(Some(note)) = notes.next() {
        if note.name() == elf::ELF_NOTE_GNU
            && note.n_type(NativeEndian) == elf::NT_GNU_BUILD_ID
            && !note.desc().is_empty()
        {
            return Some(note.desc());
        }
    }
    None
}

/// Indexes `layer`, unindexed: adopts the index kept in `dir` when it fits `identity`, else walks the blob and
/// keeps its index there for the next run. An `identity` that is an error (the kernel's could not be told)
/// means the walk, nothing read or kept.
pub(super) fn index(
    mut layer: Layer,
    identity: Result<Identity, String>,
    dir: &Path,
) -> Result<(Layer, IndexOrigin), KernelError> {
    let identity = match identity {
        Ok(identity) => identity,
        Err(why) => {
            layer.walk_index()?;
            let origin = IndexOrigin::Walked { missed: why, written: Err("the kernel's identity is unknown".into()) };
            return Ok((layer, origin));
        }
    };
    let path = dir.join(FILE_NAME);
    let missed = match read(&path, &identity) {
        Ok(index) => match layer.adopt(index) {
            Ok(()) => return Ok((layer, IndexOrigin::Kept { path })),
            Err(why) => format!("{} does not fit the blob: {why}", path.display()),
        },
        Err(why) => why,
    };
    layer.walk_index()?;
    let written = write(dir, &identity, &layer);
    Ok((layer, IndexOrigin::Walked { missed, written }))
}

/// The index kept in `path` for `identity`, or why there is none that can be used.
fn read(path: &Path, identity: &Identity) -> Result<Index, String> {
    let shown = path.display();
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(format!("no {shown} yet")),
        Err(error) => return Err(format!("cannot open {shown}: {error}")),
    };
    let metadata = file.metadata().map_err(|error| format!("cannot read {shown}: {error}"))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if metadata.uid() != euid || metadata.mode() & 0o022 != 0 {
        return Err(format!("{shown} is not this user's alone (owner {}, mode {:o})", metadata.uid(), metadata.mode()));
    }
    if metadata.len() > MAX_FILE_LEN || metadata.len() % 8 != 0 {
        return Err(format!("{shown} is not an index file (its size)"));
    }
    // SAFETY: the file is this user's alone (checked above), and jl replaces it by renaming another file over
    // it, never by writing or truncating it: the mapped file does not change. Mapped and populated at once, its
    // pages (in the page cache) are not copied, and the tables are used where they lie.
    let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) };
    let map = map.map_err(|error| format!("cannot map {shown}: {error}"))?;
    decode(Arc::new(map), identity).map_err(|why| format!("{shown} {why}"))
}

/// The index in `file` (a whole file, mapped) for `identity`, or what is wrong with it.
///
/// The layout, in native-endian words: the magic (8 bytes), the CRC-32 of everything after the first 16 bytes,
/// the key's length, the type count, the numbers of type starts and of entries in the two tables; then the key,
/// the type starts (each part padded to 8 bytes) and the two tables.
fn decode(file: Arc<memmap2::Mmap>, identity: &Identity) -> Result<Index, &'static str> {
    let bytes: &[u8] = &file;
    let word = |at: usize| u32::from_ne_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    if bytes.len() < HEADER_LEN || bytes[..MAGIC.len()] != MAGIC {
        return Err("is not an index file");
    }
    let [checksum, key_len, count, starts, types, functions] = [8, 12, 16, 20, 24, 28].map(word);
    let key_end = HEADER_LEN + key_len as usize;
    if bytes.get(HEADER_LEN..key_end) != Some(&identity.key[..]) {
        return Err("was kept for another kernel or another jl");
    }
    if crc32fast::hash(&bytes[16..]) != checksum {
        return Err("is corrupt (its checksum does not match)");
    }
    let starts_at = key_end.next_multiple_of(8);
    let types_at = (starts_at + 4 * starts as usize).next_multiple_of(8);
    let types = types_at..types_at + 8 * types as usize;
    let functions = types.end..types.end + 8 * functions as usize;
    if functions.end != bytes.len() {
        return Err("is truncated or has bytes after its index");
    }
    let starts = bytes[starts_at..starts_at + 4 * starts as usize].chunks_exact(4);
    let checkpoints = starts.map(|start| u32::from_ne_bytes(start.try_into().expect("4 bytes"))).collect();
    let table = |range| Table::Kept { file: Arc::clone(&file), range };
    Ok(Index { count, checkpoints, tables: [table(types), table(functions)] })
}

/// The bytes of an index file holding `index` for `identity` (see [`decode`]).
fn encode(index: &Index, identity: &Identity) -> Vec<u8> {
    let Index { count, checkpoints, tables } = index;
    let [types, functions] = [&tables[0], &tables[1]].map(Table::entries);
    let mut bytes = Vec::with_capacity(
        HEADER_LEN + identity.key.len() + 4 * checkpoints.len() + 8 * (types.len() + functions.len()) + 16,
    );
    bytes.extend_from_slice(&MAGIC);
    for word in
        [0, identity.key.len() as u32, *count, checkpoints.len() as u32, types.len() as u32, functions.len() as u32]
    {
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    bytes.extend_from_slice(&identity.key);
    bytes.resize(bytes.len().next_multiple_of(8), 0);
    checkpoints.iter().for_each(|start| bytes.extend_from_slice(&start.to_ne_bytes()));
    bytes.resize(bytes.len().next_multiple_of(8), 0);
    types.iter().chain(functions).for_each(|entry| bytes.extend_from_slice(&entry.to_ne_bytes()));
    let checksum = crc32fast::hash(&bytes[16..]);
    bytes[8..12].copy_from_slice(&checksum.to_ne_bytes());
    bytes
}

/// Keeps `layer`'s index in `dir` for `identity`: the file's path, or why it could not be written. The index is
/// only built (its tables of function names take a few milliseconds) once a file for it could be created.
fn write(dir: &Path, identity: &Identity, layer: &Layer) -> Result<PathBuf, String> {
    /// Tells apart the temporary files of threads of one process.
    static WRITES: AtomicU32 = AtomicU32::new(0);
    std::fs::create_dir_all(dir).map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    let temporary = dir.join(format!(".{FILE_NAME}.{}.{}", std::process::id(), WRITES.fetch_add(1, Ordering::Relaxed)));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&temporary)
        .map_err(|error| format!("cannot create {}: {error}", temporary.display()))?;
    let path = dir.join(FILE_NAME);
    let written = layer
        .index()
        .map_err(|error| error.to_string())
        .and_then(|index| file.write_all(&encode(&index, identity)).map_err(|error| error.to_string()))
        .and_then(|()| std::fs::rename(&temporary, &path).map_err(|error| error.to_string()));
    if let Err(why) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(format!("cannot write {}: {why}", path.display()));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::super::layer::Family;
    use super::super::source::Source;
    use super::super::tests::BlobBuilder;
    use super::super::{Btf, KIND_FUNC, KIND_FUNC_PROTO, KIND_INT, KIND_STRUCT, KIND_TYPEDEF};
    use super::*;

    /// `int`, `struct pair { int a; int b; }`, `int add(int x, int y)` and typedefs `t0` to `t59` of `int`: 64
    /// types, so three type starts are kept. `seed` changes the last typedef's name (another blob).
    fn blob(seed: &str) -> Vec<u8> {
        let mut blob = BlobBuilder::new();
        blob.record("int", KIND_INT, 0, false, 4); // 1
        blob.words(&[(1 << 24) | 32]);
        blob.record("pair", KIND_STRUCT, 2, false, 8); // 2
        blob.members(&[("a", 1, 0), ("b", 1, 32)]);
        blob.record("", KIND_FUNC_PROTO, 2, false, 1); // 3
        blob.members_of_proto(&[("x", 1), ("y", 1)]);
        blob.record("add", KIND_FUNC, 0, false, 3); // 4
        for index in 0..60 {
            blob.record(&format!("t{index}{}", if index == 59 { seed } else { "" }), KIND_TYPEDEF, 0, false, 1);
        }
        blob.finish()
    }

    fn identity(build_id: &[u8], blob: &[u8]) -> Identity {
        let layer = Layer::unindexed(Path::new("blob"), Source::Memory(blob.to_vec()), None).unwrap();
        Identity::new(build_id, blob.len() as u64, (1_700_000_000, 5), layer.fingerprint().unwrap())
    }

    /// Indexes `blob` with the cache in `dir`: the BTF and where its index came from.
    fn open(blob: &[u8], identity: Result<Identity, String>, dir: &Path) -> (Btf, IndexOrigin) {
        let layer = Layer::unindexed(Path::new("blob"), Source::Memory(blob.to_vec()), None).unwrap();
        let (layer, origin) = index(layer, identity, dir).unwrap();
        (Btf { layers: vec![Arc::new(layer)] }, origin)
    }

    /// The answers every way of indexing [`blob`] must give.
    fn assert_answers(btf: &Btf, context: &str) {
        assert_eq!(btf.struct_member("pair", "b").unwrap().map(|member| member.offset), Some(4), "{context}");
        let params = btf.function_params("add").unwrap().unwrap();
        assert_eq!(params[1], ("y".to_string(), "int".to_string()), "{context}");
        assert_eq!(btf.find_named("t58", Family::Types, |kind| kind == KIND_TYPEDEF).unwrap(), Some(63), "{context}");
        assert_eq!(btf.struct_member("t58", "a").unwrap(), None, "{context}");
        assert_eq!(btf.function_params("t58").unwrap(), None, "{context}");
    }

    /// A fresh directory for one test's index files.
    fn cache_dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("jl-btf-cache-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// A fresh directory for test `test` where the index of [`blob`] is kept (for build id `build`): the
    /// directory, the blob and the index file.
    fn with_kept_index(test: &str) -> (PathBuf, Vec<u8>, PathBuf) {
        let (dir, blob) = (cache_dir(test), blob(""));
        open(&blob, Ok(identity(b"build", &blob)), &dir);
        let path = dir.join(FILE_NAME);
        (dir, blob, path)
    }

    fn missed(origin: &IndexOrigin) -> &str {
        match origin {
            IndexOrigin::Walked { missed, .. } => missed,
            IndexOrigin::Kept { path } => panic!("read from {}", path.display()),
        }
    }

    #[test]
    fn a_kept_index_is_read_back_and_answers_as_the_walk_does() {
        let (dir, blob) = (cache_dir("kept"), blob(""));
        let (walked, origin) = open(&blob, Ok(identity(b"build", &blob)), &dir);
        assert!(missed(&origin).starts_with("no ") && missed(&origin).ends_with(" yet"), "{origin}");
        let path = dir.join(FILE_NAME);
        assert!(matches!(&origin, IndexOrigin::Walked { written: Ok(written), .. } if *written == path), "{origin}");
        let (kept, origin) = open(&blob, Ok(identity(b"build", &blob)), &dir);
        assert_eq!(origin, IndexOrigin::Kept { path: path.clone() });
        assert_eq!(kept.layers[0].index().unwrap(), walked.layers[0].index().unwrap());
        assert_eq!(kept.layers[0].index().unwrap().checkpoints.len(), 2, "64 types, one start in 32 kept");
        assert_answers(&walked, "walked");
        assert_answers(&kept, "kept");
        assert_eq!(origin.to_string(), format!("BTF index read from {} (kept by an earlier run)", path.display()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_index_kept_for_another_kernel_or_blob_is_not_read() {
        let (dir, blob, other) = (cache_dir("another"), blob(""), blob("x"));
        open(&blob, Ok(identity(b"build", &blob)), &dir);
        let (btf, origin) = open(&blob, Ok(identity(b"other build", &blob)), &dir);
        assert!(missed(&origin).ends_with("was kept for another kernel or another jl"), "{origin}");
        assert_answers(&btf, "another build id");
        let (_, origin) = open(&blob, Ok(identity(b"other build", &blob)), &dir);
        assert!(matches!(origin, IndexOrigin::Kept { .. }), "rewritten for the new build: {origin}");
        let (btf, origin) = open(&other, Ok(identity(b"other build", &other)), &dir);
        assert!(missed(&origin).ends_with("was kept for another kernel or another jl"), "other blob: {origin}");
        assert_eq!(btf.find_named("t59x", Family::Types, |_| true).unwrap(), Some(64));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_truncated_or_corrupt_index_is_walked_over_and_rewritten() {
        let (dir, blob, path) = with_kept_index("corrupt");
        let whole = std::fs::read(&path).unwrap();
        let damaged: [(&str, Vec<u8>, &str); 4] = [
            ("cut in the tables", whole[..whole.len() - 8].to_vec(), "is corrupt (its checksum does not match)"),
            ("cut in the key", whole[..40].to_vec(), "was kept for another kernel or another jl"),
            ("empty", Vec::new(), "is not an index file"),
            (
                "a bit flipped in a table",
                {
                    let mut bytes = whole.clone();
                    let last = bytes.len() - 3;
                    bytes[last] ^= 1;
                    bytes
                },
                "is corrupt (its checksum does not match)",
            ),
        ];
        for (how, bytes, why) in damaged {
            std::fs::write(&path, bytes).unwrap();
            let (btf, origin) = open(&blob, Ok(identity(b"build", &blob)), &dir);
            assert!(missed(&origin).ends_with(why), "{how}: {origin}");
            assert_answers(&btf, how);
            assert_eq!(std::fs::read(&path).unwrap(), whole, "{how}: rewritten whole");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_index_that_does_not_fit_the_blob_is_refused() {
        let blob = blob("");
        let walked = open(&blob, Err("no cache".into()), Path::new("/nonexistent")).0;
        let good = walked.layers[0].index().unwrap();
        let unindexed = || Layer::unindexed(Path::new("blob"), Source::Memory(blob.clone()), None).unwrap();
        let with = |count: u32, checkpoints: &[u32]| Index {
            count,
            checkpoints: checkpoints.to_vec(),
            tables: [Table::Built(Vec::new()), Table::Built(Vec::new())],
        };
        let starts = good.checkpoints.clone();
        for (how, index) in [
            ("one type more", with(good.count + 1, &starts)),
            ("one type less", with(good.count - 1, &starts)),
            ("a start too many", with(good.count, &[starts[0], starts[1], starts[1] + 12])),
            ("starts out of order", with(good.count, &[starts[1], starts[0]])),
            ("the last start moved", with(good.count, &[starts[0], starts[1] + 12])),
            ("no types", with(0, &[])),
        ] {
            assert!(unindexed().adopt(index).is_err(), "{how}");
        }
        assert_eq!(unindexed().adopt(good), Ok(()));
    }

    #[test]
    fn without_a_usable_directory_or_identity_the_walk_is_all_it_costs() {
        let (dir, blob) = (cache_dir("unusable"), blob(""));
        std::fs::write(&dir, b"a file, not a directory").unwrap();
        let (btf, origin) = open(&blob, Ok(identity(b"build", &blob)), &dir.join("below"));
        assert!(
            matches!(&origin, IndexOrigin::Walked { written: Err(why), .. } if why.starts_with("cannot create")),
            "{origin}"
        );
        assert_answers(&btf, "unwritable directory");
        let (btf, origin) = open(&blob, Err("/sys/kernel/notes has no build id".into()), &dir);
        assert_eq!(
            origin.to_string(),
            "BTF index built by walking /sys/kernel/btf/vmlinux (/sys/kernel/notes has no build id); \
             not kept: the kernel's identity is unknown"
        );
        assert_answers(&btf, "no identity");
        std::fs::remove_file(&dir).unwrap();
    }

    #[test]
    fn an_index_others_could_have_written_is_not_read() {
        let (dir, blob, path) = with_kept_index("others");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
        let (btf, origin) = open(&blob, Ok(identity(b"build", &blob)), &dir);
        assert!(missed(&origin).contains("is not this user's alone"), "{origin}");
        assert_answers(&btf, "writable by others");
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            std::os::unix::fs::chown(&path, Some(1), None).unwrap();
            let (_, origin) = open(&blob, Ok(identity(b"build", &blob)), &dir);
            assert!(missed(&origin).contains("is not this user's alone (owner 1"), "{origin}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn concurrent_runs_leave_a_whole_index() {
        let (dir, blob) = (cache_dir("concurrent"), blob(""));
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| assert_answers(&open(&blob, Ok(identity(b"build", &blob)), &dir).0, "concurrent"));
            }
        });
        let (_, origin) = open(&blob, Ok(identity(b"build", &blob)), &dir);
        assert!(matches!(origin, IndexOrigin::Kept { .. }), "{origin}");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name()).collect();
        assert_eq!(left, [FILE_NAME], "no temporary file left");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn finds_the_build_id_among_the_kernels_notes() {
        let note = |name: &[u8], kind: u32, desc: &[u8]| {
            let mut bytes = Vec::new();
            for word in [name.len() as u32, desc.len() as u32, kind] {
                bytes.extend_from_slice(&word.to_ne_bytes());
            }
            for part in [name, desc] {
                bytes.extend_from_slice(part);
                bytes.resize(bytes.len().next_multiple_of(4), 0);
            }
            bytes
        };
        let notes =
            [note(b"Linux\0", 6, b"6.18.0\0"), note(b"GNU\0", elf::NT_GNU_BUILD_ID, &[0xfa, 0x36, 0x77])].concat();
        assert_eq!(build_id(&notes), Some(&[0xfa, 0x36, 0x77][..]));
        assert_eq!(build_id(&notes[..notes.len() - 4]), None, "cut short");
        assert_eq!(build_id(&note(b"Xen\0", elf::NT_GNU_BUILD_ID, b"id")), None, "not GNU's");
        if let Ok(notes) = std::fs::read(KERNEL_NOTES) {
            assert!(build_id(&notes).is_some_and(|id| id.len() >= 16), "the running kernel's: {notes:x?}");
        }
    }

    /// The running kernel's index kept in a directory and read back gives what the walk gives.
    #[test]
    fn the_running_kernels_index_is_kept_and_read_back() {
        if !Path::new(super::super::VMLINUX_BTF).exists() || std::fs::read(KERNEL_NOTES).is_err() {
            eprintln!("SKIPPED: no kernel BTF or notes here");
            return;
        }
        let dir = cache_dir("running");
        let walked = Btf::vmlinux().unwrap();
        let (first, origin) = Btf::vmlinux_indexed(&dir).unwrap();
        assert!(matches!(origin, IndexOrigin::Walked { written: Ok(_), .. }), "{origin}");
        let (kept, origin) = Btf::vmlinux_indexed(&dir).unwrap();
        assert_eq!(origin, IndexOrigin::Kept { path: dir.join(FILE_NAME) });
        for btf in [&first, &kept] {
            for (name, member) in [("sk_buff", "len"), ("task_struct", "pid"), ("timer_list", "function")] {
                assert_eq!(btf.struct_member(name, member).unwrap(), walked.struct_member(name, member).unwrap());
            }
            assert_eq!(btf.function_params("ip_rcv").unwrap(), walked.function_params("ip_rcv").unwrap());
            let switch = btf.raw_tracepoint_params("sched_switch").unwrap();
            assert_eq!(switch, walked.raw_tracepoint_params("sched_switch").unwrap());
            assert_eq!(btf.struct_size("no_such_struct_x").unwrap(), None);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
