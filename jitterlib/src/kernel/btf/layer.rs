//! One BTF blob (vmlinux', or a module's split BTF on top of it), read where it lies: what is kept is where
//! every 32nd type starts and, per family of named kinds, the (name offset, type id) of each of its types, all
//! collected by the one walk over the types that opens the blob. Where the blob is read in place (mapped, or
//! in memory), the first names asked of a family are found by searching the string section for them, which
//! gives the offsets that hold them, then the types of the family named by those offsets (0.1-0.2 ms each on
//! Linux 6.18); a script that asks for many gets, once it has asked for about as many as building a table
//! costs, a sorted table of (name hash, type id) of the family, which the blob read from a file page by page
//! gets at once.

use std::hash::BuildHasher;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use super::source::{Pages, Sequential, Source};
use super::{extra_len, TypeHeader, KIND_ENUM, KIND_ENUM64, KIND_FUNC, KIND_STRUCT, KIND_TYPEDEF, KIND_UNION, MAGIC};
use crate::kernel::KernelError;

const HEADER_MIN_LEN: usize = 24;
/// Types between two remembered type starts: finding a type reads at most this many headers.
pub(super) const CHECKPOINT_STRIDE: u32 = 32;

/// Kinds looked up by name, in families kept apart: structs, unions and typedefs are asked about by most
/// scripts; functions (56 000 on Linux 6.18, four times the rest) by function probes and raw tracepoints'
/// argument names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Family {
    /// STRUCT, UNION and TYPEDEF.
    Types,
    /// FUNC.
    Functions,
}

impl Family {
    /// The family of types of `kind`, `None` for kinds not looked up by name.
    #[inline]
    fn of(kind: u32) -> Option<Family> {
        match kind {
            KIND_STRUCT | KIND_UNION | KIND_TYPEDEF => Some(Family::Types),
            KIND_FUNC => Some(Family::Functions),
            _ => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Names searched for in the strings before the family's table of name hashes is built instead: about as
    /// many as building the table costs (0.4 ms for the 13 000 structs, unions and typedefs of Linux 6.18,
    /// 4 ms for its 56 000 functions).
    pub(super) fn searches_before_table(self) -> u32 {
        match self {
            Family::Types => 4,
            Family::Functions => 20,
        }
    }
}

/// A BTF blob: where its sections are and the little kept to find types in it.
#[derive(Debug)]
pub(super) struct Layer {
    pub(super) path: PathBuf,
    /// The blob this one continues (vmlinux' under a module's), `None` for vmlinux'.
    base: Option<Arc<Layer>>,
    pages: Pages,
    types: Range<u64>,
    strings: Range<u64>,
    /// The id of this blob's first type (1 for vmlinux; for split BTF, one past its base's last).
    pub(super) first_id: u32,
    /// How many types this blob holds.
    pub(super) count: u32,
    /// The first name offset that falls in this blob's strings (for split BTF, the size of its base's).
    pub(super) first_name_off: u32,
    /// Offset in the type section of types `first_id`, `first_id + CHECKPOINT_STRIDE`, ...
    checkpoints: Vec<u32>,
    /// Per [`Family`]: `(name offset) << 32 | type id` of each of its named types, in id order.
    named: [Vec<u64>; 2],
    /// Per [`Family`]: `(hash of the name) << 32 | type id` of each of its named types, sorted, built once
    /// [`Family::searches_before_table`] names have been searched for (at once for a blob read from a file).
    hashed: [OnceLock<Table>; 2],
    /// Per [`Family`]: how many names have been looked up.
    lookups: [AtomicU32; 2],
    /// Every ENUM and ENUM64, anonymous ones included, in id order: found by a walk of its own when a script
    /// first names an enum or an enumerator (2 400 on Linux 6.18), so that opening the blob, which most scripts
    /// need for struct members alone, allocates nothing for them.
    enums: OnceLock<Vec<EnumAt>>,
}

/// What a walk of a blob's types finds that lookups by name need, with the tables of name hashes of both
/// families: what [`super::cache`] keeps across runs.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Index {
    /// How many types the blob holds.
    pub(super) count: u32,
    /// Offset in the type section of every [`CHECKPOINT_STRIDE`]th type.
    pub(super) checkpoints: Vec<u32>,
    /// Per [`Family`]: `(hash of the name) << 32 | type id` of each of its named types, sorted.
    pub(super) tables: [Table; 2],
}

/// A [`Family`]'s sorted `(hash of the name) << 32 | type id` entries: built from the walk, or part of an index
/// file read whole.
#[derive(Debug)]
pub(super) enum Table {
    /// Built in this process.
    Built(Vec<u64>),
    /// The bytes `range` of a mapped index file, at a multiple of 8 bytes from its start.
    Kept {
        /// The file.
        file: Arc<memmap2::Mmap>,
        /// Where the table is in it.
        range: Range<usize>,
    },
}

impl Table {
    /// The entries, sorted.
    pub(super) fn entries(&self) -> &[u64] {
        match self {
            Table::Built(entries) => entries,
            Table::Kept { file, range } => bytemuck::try_cast_slice(&file[range.clone()])
                .expect("a mapping starts at a page, its tables at 8 bytes"),
        }
    }
}

impl PartialEq for Table {
    fn eq(&self, other: &Table) -> bool {
        self.entries() == other.entries()
    }
}

impl Eq for Table {}

/// Where an enum of a blob is.
#[derive(Clone, Copy, Debug)]
pub(super) struct EnumAt {
    /// Its type id.
    pub(super) id: u32,
    /// Its name's offset (0 for an anonymous enum).
    pub(super) name_off: u32,
    /// Where its record starts in the type section.
    at: u32,
}

impl Layer {
    /// Reads the header of the blob in `source` and walks its types once, keeping where they start and which
    /// of them each [`Family`] names. `base` is the blob split BTF continues (`None` for vmlinux).
    pub(super) fn open(path: &Path, source: Source, base: Option<Arc<Layer>>) -> Result<Layer, KernelError> {
        let mut layer = Layer::unindexed(path, source, base)?;
        layer.walk_index()?;
        Ok(layer)
    }

    /// Reads the header of the blob in `source`: where its sections are. Nothing is indexed yet: either
    /// [`Layer::walk_index`] or [`Layer::adopt`] must follow before types are looked up.
    pub(super) fn unindexed(path: &Path, source: Source, base: Option<Arc<Layer>>) -> Result<Layer, KernelError> {
        let fail = |reason: &str| KernelError::Btf { path: path.to_path_buf(), reason: reason.to_string() };
        let len = source.len().map_err(|error| KernelError::io(path, error))?;
        let pages = Pages::new(source);
        let mut header = [0; HEADER_MIN_LEN];
        if !pages.read(0, &mut header).map_err(|error| KernelError::io(path, error))? {
            return Err(fail("shorter than its header"));
        }
        if u16::from_ne_bytes([header[0], header[1]]) != MAGIC {
            return Err(fail("bad magic (not BTF, or of the other byte order)"));
        }
        let word =
            |at: usize| u64::from(u32::from_ne_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]));
        let (header_len, type_off, type_len, str_off, str_len) = (word(4), word(8), word(12), word(16), word(20));
        let section = |offset: u64, size: u64| {
            let start = header_len + offset;
            (start + size <= len).then_some(start..start + size)
        };
        let types = section(type_off, type_len).ok_or_else(|| fail("type section out of bounds"))?;
        let strings = section(str_off, str_len).ok_or_else(|| fail("string section out of bounds"))?;
        let (first_id, first_name_off) = match &base {
            None => (1, 0),
            Some(base) => {
                let next_name = u64::from(base.first_name_off) + (base.strings.end - base.strings.start);
                let next_name = u32::try_from(next_name).map_err(|_| base.malformed("string section too large"))?;
                (base.first_id + base.count, next_name)
            }
        };
        Ok(Layer {
            path: path.to_path_buf(),
            base,
            pages,
            types,
            strings,
            first_id,
            count: 0,
            first_name_off,
            checkpoints: Vec::new(),
            named: Default::default(),
            hashed: Default::default(),
            lookups: Default::default(),
            enums: OnceLock::new(),
        })
    }

    /// Walks the types once, keeping where they start and which of them each [`Family`] names.
    pub(super) fn walk_index(&mut self) -> Result<(), KernelError> {
        let first_id = self.first_id;
        let (mut checkpoints, mut count, mut named) = (Vec::new(), 0u32, <[Vec<u64>; 2]>::default());
        self.walk_types(|at, header| {
            if count % CHECKPOINT_STRIDE == 0 {
                checkpoints.push(at);
            }
            if header.name_off != 0 {
                if let Some(family) = Family::of(header.kind) {
                    named[family.index()].push(u64::from(header.name_off) << 32 | u64::from(first_id + count));
                }
            }
            count += 1;
        })?;
        named.iter_mut().for_each(Vec::shrink_to_fit);
        (self.checkpoints, self.count, self.named) = (checkpoints, count, named);
        Ok(())
    }

    /// This blob's index with both families' tables of name hashes (built now if they were not), to keep for
    /// a later [`Layer::adopt`] of the same blob.
    pub(super) fn index(&self) -> Result<Index, KernelError> {
        let table = |family| self.table(family).map(|entries| Table::Built(entries.to_vec()));
        Ok(Index {
            count: self.count,
            checkpoints: self.checkpoints.clone(),
            tables: [table(Family::Types)?, table(Family::Functions)?],
        })
    }

    /// Takes `index`, kept from a walk of this same blob, instead of walking it. What is checked without a walk
    /// (the tables are not: each lookup reads the names of the types they give, and a type id outside the blob
    /// is an error): the counts agree, the type starts rise inside the type section and the last of them leads,
    /// record by record, exactly to the section's end. An index that fails is refused (with why), and the layer
    /// stays unindexed.
    pub(super) fn adopt(&mut self, index: Index) -> Result<(), &'static str> {
        let Index { count, checkpoints, tables } = index;
        let types_len = self.types.end - self.types.start;
        if count == 0 || checkpoints.len() as u64 != u64::from(count.div_ceil(CHECKPOINT_STRIDE)) {
            return Err("its type count and type starts disagree");
        }
        if checkpoints[0] != 0
            || checkpoints.windows(2).any(|pair| pair[0] >= pair[1])
            || checkpoints.last().is_some_and(|&last| u64::from(last) >= types_len)
        {
            return Err("its type starts are out of order or outside the type section");
        }
        let last = *checkpoints.last().expect("count > 0");
        let mut at = self.types.start + u64::from(last);
        for _ in 0..count - (checkpoints.len() as u32 - 1) * CHECKPOINT_STRIDE {
            let header = self.header_at(at).map_err(|_| "its last type start is not at a type")?;
            at += 12 + extra_len(header.kind, header.vlen).ok_or("its last type start is not at a type")? as u64;
        }
        if at != self.types.end {
            return Err("its type count does not end at the type section's end");
        }
        let [types, functions] = tables;
        (self.count, self.checkpoints) = (count, checkpoints);
        self.hashed = [OnceLock::from(types), OnceLock::from(functions)];
        Ok(())
    }

    /// A checksum of the bytes that would differ first between two blobs: the header, the first and last page
    /// of the type section and the last page of the strings.
    pub(super) fn fingerprint(&self) -> Result<u32, KernelError> {
        let mut hasher = crc32fast::Hasher::new();
        let header_end = self.types.start.min(self.strings.start);
        let pieces = [
            0..header_end,
            self.types.start..self.types.end.min(self.types.start + 4096),
            self.types.end.saturating_sub(4096).max(self.types.start)..self.types.end,
            self.strings.end.saturating_sub(4096).max(self.strings.start)..self.strings.end,
        ];
        for piece in pieces {
            let mut bytes = vec![0; (piece.end - piece.start) as usize];
            if !self.read(piece.start, &mut bytes)? {
                return Err(self.malformed("shorter than its sections"));
            }
            hasher.update(&bytes);
        }
        Ok(hasher.finalize())
    }

    /// Calls `visit(offset in the type section, header)` for each type in order, reading the section once.
    fn walk_types(&self, mut visit: impl FnMut(u32, &TypeHeader)) -> Result<(), KernelError> {
        if u32::try_from(self.types.end - self.types.start).is_err() {
            return Err(self.malformed("type section too large"));
        }
        // A blob read in place is walked as one slice: this loop runs once per type (126 000 on Linux 6.18), and
        // asking the window for each record made the walk 1.8 ms instead of 1.3 ms there.
        let in_place = self.pages.source().bytes_between(self.types.start, self.types.end);
        let mut window = Sequential::new(self.pages.source(), self.types.end);
        let mut at = self.types.start;
        while at < self.types.end {
            let bytes = match in_place {
                Some(section) => &section[(at - self.types.start) as usize..],
                None => window.at(at, 12).map_err(|error| KernelError::io(&self.path, error))?,
            };
            let header = TypeHeader::decode(bytes).ok_or_else(|| self.malformed("truncated type record"))?;
            visit((at - self.types.start) as u32, &header);
            let extra = extra_len(header.kind, header.vlen).ok_or_else(|| self.malformed("unknown type kind"))?;
            at += 12 + extra as u64;
        }
        if at != self.types.end {
            return Err(self.malformed("type section ends inside a record"));
        }
        Ok(())
    }

    /// The ids of this blob's types of `family` that may be called `name`, ascending: candidates to check by
    /// reading their names (exactly those called `name` when found by a search of the strings).
    pub(super) fn candidates(&self, family: Family, name: &str) -> Result<Vec<u32>, KernelError> {
        let named = &self.named[family.index()];
        let lookups = self.lookups[family.index()].fetch_add(1, Ordering::Relaxed);
        let offsets = match self.hashed[family.index()].get() {
            None if lookups < family.searches_before_table() => self.name_offsets(name),
            _ => None,
        };
        if let Some(offsets) = offsets {
            let called = named.iter().filter(|&&entry| offsets.contains(&((entry >> 32) as u32)));
            return Ok(called.map(|&entry| entry as u32).collect());
        }
        let hashed = self.table(family)?;
        let hash = u64::from(name_hash(name.as_bytes()));
        let start = hashed.partition_point(|entry| entry >> 32 < hash);
        let end = hashed.partition_point(|entry| entry >> 32 <= hash);
        Ok(hashed[start..end].iter().map(|&entry| entry as u32).collect())
    }

    /// The family's sorted table of `(name hash) << 32 | id`, built now if it was not.
    fn table(&self, family: Family) -> Result<&[u64], KernelError> {
        if let Some(hashed) = self.hashed[family.index()].get() {
            return Ok(hashed.entries());
        }
        let built = Table::Built(self.hash_names(self.named[family.index()].clone())?);
        Ok(self.hashed[family.index()].get_or_init(|| built).entries())
    }

    /// Every enum of this blob, anonymous ones included, in id order.
    pub(super) fn enums(&self) -> Result<&[EnumAt], KernelError> {
        if let Some(enums) = self.enums.get() {
            return Ok(enums);
        }
        let (mut enums, mut id) = (Vec::new(), self.first_id);
        self.walk_types(|at, header| {
            if matches!(header.kind, KIND_ENUM | KIND_ENUM64) {
                enums.push(EnumAt { id, name_off: header.name_off, at });
            }
            id += 1;
        })?;
        Ok(self.enums.get_or_init(|| enums))
    }

    /// The header of the enum at `place` and its enumerators' data, read at once (not from a checkpoint).
    pub(super) fn enum_record(&self, place: &EnumAt) -> Result<(TypeHeader, Vec<u8>), KernelError> {
        let at = self.types.start + u64::from(place.at);
        let header = self.header_at(at)?;
        let extra = extra_len(header.kind, header.vlen).ok_or_else(|| self.malformed("unknown type kind"))?;
        let mut data = vec![0; extra];
        if at + 12 + extra as u64 > self.types.end || !self.read(at + 12, &mut data)? {
            return Err(self.malformed("truncated type data"));
        }
        Ok((header, data))
    }

    /// Every name offset, in this blob's strings or its base's, at which `name` is written (the whole string
    /// there, or its end: BTF may point into a longer string); `None` when the strings cannot be read in place.
    pub(super) fn name_offsets(&self, name: &str) -> Option<Vec<u32>> {
        let strings = self.pages.source().bytes_between(self.strings.start, self.strings.end)?;
        let mut offsets = match &self.base {
            Some(base) => base.name_offsets(name)?,
            None => Vec::new(),
        };
        if name.is_empty() || name.contains('\0') {
            return Some(offsets);
        }
        let needle = [name.as_bytes(), &[0]].concat();
        let found = memchr::memmem::find_iter(strings, &needle);
        offsets.extend(found.filter_map(|at| u32::try_from(at).ok()?.checked_add(self.first_name_off)));
        Some(offsets)
    }

    /// `(name offset) << 32 | id` entries turned into the sorted `(name hash) << 32 | id` index: one pass
    /// over the strings they name, in offset order.
    fn hash_names(&self, mut entries: Vec<u64>) -> Result<Vec<u64>, KernelError> {
        entries.sort_unstable();
        let mut window = Sequential::new(self.pages.source(), self.strings.end);
        let mut last: Option<(u32, u32)> = None;
        for entry in &mut entries {
            let name_off = (*entry >> 32) as u32;
            let hash = match last {
                Some((off, hash)) if off == name_off => hash,
                _ if name_off < self.first_name_off => name_hash(&self.name(name_off)?),
                _ => self.hash_own_name(&mut window, name_off)?,
            };
            last = Some((name_off, hash));
            *entry = u64::from(hash) << 32 | (*entry & 0xffff_ffff);
        }
        entries.sort_unstable();
        entries.shrink_to_fit();
        Ok(entries)
    }

    /// The hash of the name at `name_off` in this blob's strings, read through the pass's `window`.
    fn hash_own_name(&self, window: &mut Sequential<'_>, name_off: u32) -> Result<u32, KernelError> {
        let at = self.strings.start + u64::from(name_off - self.first_name_off);
        if at >= self.strings.end {
            return Err(self.malformed("name offset outside the string section"));
        }
        let mut want = 64;
        loop {
            let bytes = window.at(at, want).map_err(|error| KernelError::io(&self.path, error))?;
            match bytes.iter().position(|&byte| byte == 0) {
                Some(nul) => return Ok(name_hash(&bytes[..nul])),
                None if bytes.len() < want => return Ok(name_hash(bytes)),
                None => want *= 2,
            }
        }
    }

    /// The header of type `id` (of this blob) and the kind-specific data after it.
    pub(super) fn record(&self, id: u32) -> Result<(TypeHeader, Vec<u8>), KernelError> {
        let index = id - self.first_id;
        let checkpoint = self.checkpoints[(index / CHECKPOINT_STRIDE) as usize];
        let mut at = self.types.start + u64::from(checkpoint);
        let mut header = self.header_at(at)?;
        for _ in 0..index % CHECKPOINT_STRIDE {
            at += 12 + extra_len(header.kind, header.vlen).ok_or_else(|| self.malformed("unknown type kind"))? as u64;
            header = self.header_at(at)?;
        }
        let extra = extra_len(header.kind, header.vlen).ok_or_else(|| self.malformed("unknown type kind"))?;
        let mut data = vec![0; extra];
        if at + 12 + extra as u64 > self.types.end || !self.read(at + 12, &mut data)? {
            return Err(self.malformed("truncated type data"));
        }
        Ok((header, data))
    }

    fn header_at(&self, at: u64) -> Result<TypeHeader, KernelError> {
        let mut bytes = [0; 12];
        if at + 12 > self.types.end || !self.read(at, &mut bytes)? {
            return Err(self.malformed("truncated type record"));
        }
        TypeHeader::decode(&bytes).ok_or_else(|| self.malformed("truncated type record"))
    }

    fn read(&self, at: u64, buf: &mut [u8]) -> Result<bool, KernelError> {
        self.pages.read(at, buf).map_err(|error| KernelError::io(&self.path, error))
    }

    /// The name at string offset `offset`, without its NUL: in this blob's strings, or its base's.
    pub(super) fn name(&self, offset: u32) -> Result<Vec<u8>, KernelError> {
        if offset < self.first_name_off {
            return self.base.as_ref().expect("only split BTF has a first name offset above 0").name(offset);
        }
        let at = self.strings.start + u64::from(offset - self.first_name_off);
        if at >= self.strings.end {
            return Err(self.malformed("name offset outside the string section"));
        }
        self.pages.c_string(at, self.strings.end).map_err(|error| KernelError::io(&self.path, error))
    }

    pub(super) fn malformed(&self, reason: &str) -> KernelError {
        KernelError::Btf { path: self.path.clone(), reason: reason.to_string() }
    }
}

/// A name's hash in the index: the high half of foldhash's (fixed seed: the same in every process).
pub(super) fn name_hash(name: &[u8]) -> u32 {
    (foldhash::fast::FixedState::with_seed(0).hash_one(name) >> 32) as u32
}
