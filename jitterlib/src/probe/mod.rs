//! Probe kinds: what a probe attaches to, which typed fields it offers, and the code it needs around the
//! user's block (typed probes pair events in BPF before the block runs).
//!
//! Each kind lives in one file and is listed once in [`REGISTRY`]; the compiler, `jl -l` and completion read
//! that list. The book's probe pages are written by hand: `tests/probe_fields.rs` checks their field tables, and
//! each kind's `fields`, against the fields the resolved probes offer.

mod begin_end;
mod bench;
mod btf_args;
mod counter;
mod error;
mod fentry;
mod interval;
mod ipvs_kthread;
mod irqoff;
mod kfunc;
mod kprobe;
mod profile;
mod rawtracepoint;
mod reach;
mod registers;
mod skb;
mod softirq;
mod stall;
mod syscall;
mod syscall_dispatch;
mod syscall_numbers;
mod timer;
mod tracepoint;
mod tracepoint_args;
mod tracepoint_hook;
mod uprobe;
mod usdt;
mod usdt_args;
mod wildcard;

pub use crate::glob::glob;
pub use error::{ProbeCause, ProbeError, ProbeErrorKind};
pub use registers::{has_registers, register_field, REGISTERS};
pub use stall::SLOTS as STALL_SLOTS;
pub use syscall_dispatch::{dispatch_syscalls, DispatchSlot, SyscallEvent, MAX_CHAINED};
pub use uprobe::user_functions;
pub use usdt::usdt_probes;
pub use wildcard::{expand, MAX_WILDCARD_MATCHES};

use crate::agg::EnumNames;
use crate::insn::{AluOp, Builder, Helper, JmpOp, Label, Program, Reg, Size};
use crate::kernel::{KernelInfo, StructName};
use crate::maps::{map_call, Counter, MapKind, MapSpec, UpdateFailures};
use crate::session::Attach;

/// How a probe is written in a script, before resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeSpec {
    /// `kind:part:part` (`tracepoint:irq:softirq_entry`, `interval:s:1`, `BEGIN`).
    Path(Vec<String>),
    /// `name(arg, ...)` (`timer("estimation_timer")`).
    Typed {
        /// The probe kind.
        name: String,
        /// Its arguments.
        args: Vec<ProbeArg>,
    },
}

impl ProbeSpec {
    /// The kind named by the spec (first path part, or the typed probe's name).
    pub fn kind_name(&self) -> &str {
        match self {
            ProbeSpec::Path(parts) => parts.first().map(String::as_str).unwrap_or(""),
            ProbeSpec::Typed { name, .. } => name,
        }
    }
}

/// An argument of a typed probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeArg {
    /// A string.
    Str(String),
    /// An integer (durations are in nanoseconds).
    Int(u64),
    /// A bare word.
    Ident(String),
}

/// The type of a field a probe offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// An integer of `size` bytes.
    Int {
        /// Size in bytes (1, 2, 4 or 8).
        size: u32,
        /// Whether it is signed.
        signed: bool,
    },
    /// A value of a kernel enum (`enum skb_drop_reason`) of `size` bytes, printed by its enumerator's name.
    Enum {
        /// Size in bytes (1, 2, 4 or 8).
        size: u32,
        /// Whether it is signed.
        signed: bool,
        /// What its values are called.
        names: EnumNames,
    },
    /// A name from a fixed table (a softirq's `name`, an skb hop's `hop`), carried as its index in a u64: an
    /// integer in map keys and comparisons, the name's text wherever a string is needed.
    Name {
        /// The table: each name with its index.
        names: EnumNames,
    },
    /// Nanoseconds, printed with time units.
    Duration,
    /// A kernel address printed as `symbol+offset`.
    KernelSymbol,
    /// A fixed-size, NUL-padded string of `size` bytes.
    Str {
        /// Size in bytes.
        size: u32,
    },
    /// A tracepoint `__data_loc char[]` string: a u32 at the field's offset holds (length << 16 | offset).
    DataLocStr,
    /// A fixed-size array of `size` bytes that are not characters, too long to be one integer (a tracepoint's
    /// `__u8 saddr_v6[16]`).
    Bytes {
        /// Size in bytes (more than 8).
        size: u32,
    },
    /// A fixed-size array of at most 8 bytes that are not characters (a tracepoint's `__u8 saddr[4]`): read as
    /// one unsigned integer, its bytes in memory order from the lowest, and as those bytes by `buf()`.
    ShortBytes {
        /// Size in bytes (1 to 8).
        size: u32,
    },
    /// What ran on a CPU during a stall, packed in 8 bytes ([`crate::culprit::Culprit`]), printed
    /// `timer:estimation_timer`.
    Culprit,
    /// An 8-byte pointer to the kernel struct `target`, whose members scripts read with `->`.
    Pointer {
        /// The struct it points to.
        target: StructName,
    },
    /// An 8-byte pointer to anything but a struct (`void *`, `char *`, a function): an address printed in hex.
    Address,
}

/// Where the value of a field is found when the user's block runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldSource {
    /// In the program context at this byte offset (tracepoint records).
    Context {
        /// Byte offset in the context.
        offset: u32,
    },
    /// On the stack at `r10 + offset`, stored there by the probe's prologue.
    Stack {
        /// Negative offset from the frame pointer.
        offset: i16,
    },
    /// Computed where it is used, by [`Probe::emit_computed`] (fields that cost instructions only when a
    /// script reads them, such as a softirq's name).
    Computed,
}

/// A typed field offered by a probe (`dur`, `func`, or a tracepoint's `args.vec`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The name used in scripts.
    pub name: String,
    /// Its type.
    pub ty: FieldType,
    /// Where its value lives.
    pub source: FieldSource,
}

/// When a program that is never attached runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Once, before tracing starts.
    Begin,
    /// Once, after tracing stops.
    End,
    /// Many times in a row, timed, with `--mode bench` only (a `bench:` block).
    Bench,
    /// Each time the tracing process receives this signal while tracing (`self:signal:SIGUSR1`).
    Signal(i32),
}

/// What a probe's code needs from the compiler.
#[derive(Debug)]
pub struct EmitEnv<'a> {
    /// The register holding the context pointer (saved from `r1` at entry).
    pub ctx: Reg,
    /// Where to jump to leave the program without running the block.
    pub exit: Label,
    /// Object-wide indices of the maps returned by [`Probe::maps`], in the same order.
    pub maps: &'a [usize],
    /// Which of [`Probe::points`] this program runs at (0 for probes with one point).
    pub point: usize,
    /// The counters of failed map updates of the probe's own maps.
    pub map_updates: UpdateFailures,
    /// The counter to add to when a probe's fixed per-CPU slots are all taken and what did not fit is reported
    /// in a remainder instead (a stall's culprits beyond its slots).
    pub slots_full: Counter,
    /// The counter of `skb()` hops dropped because the address held another packet than the one last seen there.
    pub skb_reused: Counter,
    /// The counter of `skb()` hops dropped because the point cannot follow the packet's last one.
    pub skb_out_of_order: Counter,
    /// Whether the block at this point does nothing (empty, no predicate): a prologue's filters guard nothing
    /// then and may be left out.
    pub empty_block: bool,
}

/// A place where a probe's prologue runs, in a program of its own.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Short suffix for the program name, when the probe has several points (`rx`, `kfree`).
    pub suffix: &'static str,
    /// Where the program attaches.
    pub attach: Attach,
    /// Whether the user's block runs there after the prologue; a point that only records state for later
    /// points (a stamp on a path a filter left out) runs the prologue alone.
    pub fires: bool,
}

/// A program a probe needs besides the one running the user's block (the entry half of a pair).
#[derive(Clone, Debug, PartialEq)]
pub struct Companion {
    /// Short suffix for the program name (`entry`).
    pub suffix: &'static str,
    /// Where it attaches.
    pub attach: Attach,
    /// Its code.
    pub program: Program,
}

/// A resolved probe, ready for code generation.
pub trait Probe: std::fmt::Debug {
    /// The probe as it would be written, for comments, `-v` and error messages.
    fn describe(&self) -> String;
    /// Where the program running the user's block attaches.
    fn attach(&self) -> Attach;
    /// Every point the prologue runs at, one program each, told apart by [`EmitEnv::point`]. Most probes
    /// run at one point, [`Probe::attach`]; a probe following an object through several kernel events (a
    /// packet's hops) runs at each.
    fn points(&self) -> Vec<Point> {
        vec![Point { suffix: "", attach: self.attach(), fires: true }]
    }
    /// For never-attached programs, when they run.
    fn trigger(&self) -> Option<Trigger> {
        None
    }
    /// Fields reachable as `args.NAME` / `args->NAME`.
    fn args(&self) -> &[Field] {
        &[]
    }
    /// Fields reachable as bare names (`dur`, `func`).
    fn fields(&self) -> &[Field] {
        &[]
    }
    /// Where `field`, as the block was checked with it, is read now: a tracepoint's `args` move from its
    /// record to its arguments once it is told which ones the block reads ([`Probe::only_fields_read`]), with
    /// the same types. By default where it was.
    fn source_now(&self, field: &Field) -> FieldSource {
        field.source
    }
    /// Bytes at the top of the stack frame the prologue writes fields into.
    fn stack_bytes(&self) -> u32 {
        0
    }
    /// Maps the probe itself needs (named by the compiler; `name` here is a short suffix).
    fn maps(&self) -> Vec<MapSpec> {
        Vec::new()
    }
    /// Told, before anything is emitted, which of [`Probe::fields`] the block reads (and which of
    /// [`Probe::args`], as `args.NAME`), so that the probe can leave out the work of computing the others (the
    /// timers' `late` costs a kernel read per callback) or attach where the record is not needed, asking
    /// `kernel` what that takes (a tracepoint's arguments). By default every field is computed.
    fn only_fields_read(&mut self, _kernel: &dyn KernelInfo, _read: &[String]) -> Result<(), ProbeError> {
        Ok(())
    }
    /// Code run before the user's block: pairing, filtering, computing fields. May jump to `env.exit`.
    fn emit_prologue(&self, _builder: &mut Builder, _env: &EmitEnv) {}
    /// Writes the [`FieldSource::Computed`] string field `field` into `size` bytes at `r10 + offset`
    /// (after the prologue of the program at `point`, an index into [`Probe::points`]; may use r0-r5).
    fn emit_computed(&self, _builder: &mut Builder, _point: usize, _field: &str, _offset: i16, _size: u32) {}
    /// What `jl -v` says about how the probe was resolved beyond where its programs attach: which mechanism
    /// reaches which of its points, and which points were left out and why.
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
    /// Why attaching the probe could harm what it traces, when it could: a uprobe at a byte offset jl cannot
    /// check is an instruction's start would corrupt the program. Such probes need `--unsafe`.
    fn unsafe_reason(&self) -> Option<String> {
        None
    }
    /// Whether the probe runs in a user-space context (uprobes), where pointers such as `arg0` are addresses of
    /// the process: `str()` and `buf()` read them with the user-memory helpers alone.
    fn user_space(&self) -> bool {
        false
    }
    /// For a syscall event served by a dispatcher on `raw_syscalls`, its direction and syscall number
    /// ([`dispatch_syscalls`]).
    fn syscall_event(&self) -> Option<SyscallEvent> {
        None
    }
    /// Told where a syscall event's program sits in its dispatcher's program array ([`dispatch_syscalls`]).
    fn dispatch(&mut self, _slot: DispatchSlot) {}
    /// Moves a syscall event off `raw_syscalls` to its own perf-event tracepoint, saying `why` in `jl -v`. To be
    /// called before the block is checked: the event's `args` move from the stack to the record.
    fn leave_raw_syscalls(&mut self, _why: &str) {}
    /// Code run at the end of every run of the program, whether the block ran or the program left through
    /// `env.exit`, before it returns 0 (a syscall event's tail call to the next event on its syscall).
    fn emit_epilogue(&self, _builder: &mut Builder, _env: &EmitEnv) {}
    /// Other programs this probe needs.
    fn companions(&self, _env_maps: &[usize]) -> Result<Vec<Companion>, ProbeError> {
        Ok(Vec::new())
    }
}

/// Appends the maps `probe` needs ([`Probe::maps`]) to an object's `maps`, each named `prefix` followed by its
/// own name (made a [valid name](crate::object::valid_name)), and returns their object indices in that order:
/// what [`EmitEnv::maps`] and [`Probe::companions`] take. A program array ([`MapKind::ProgArray`]) links the
/// programs of several probes: it keeps its name and is placed once, by the first probe asking for it.
///
/// ```
/// use jitterlib::kernel::FixtureKernel;
/// use jitterlib::probe::{place_maps, resolve, ProbeSpec};
///
/// let kernel = FixtureKernel::bundled();
/// let probe = resolve(&ProbeSpec::Typed { name: "softirq".into(), args: vec![] }, &kernel)?;
/// let mut maps = Vec::new();
/// assert_eq!(place_maps(probe.as_ref(), "p0_", &mut maps), [0]);
/// # Ok::<(), jitterlib::probe::ProbeError>(())
/// ```
pub fn place_maps(probe: &dyn Probe, prefix: &str, maps: &mut Vec<MapSpec>) -> Vec<usize> {
    probe
        .maps()
        .into_iter()
        .map(|mut spec| {
            if spec.kind == MapKind::ProgArray {
                if let Some(placed) = maps.iter().position(|map| map.name == spec.name) {
                    return placed;
                }
            } else {
                spec.name = crate::object::valid_name(&format!("{prefix}{}", spec.name));
            }
            maps.push(spec);
            maps.len() - 1
        })
        .collect()
}

/// Resolves a probe spec of one kind against the kernel.
pub type Resolver = fn(&ProbeSpec, &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError>;

/// One probe kind in the registry.
pub struct ProbeKind {
    /// Name as written (`tracepoint`, `timer`).
    pub name: &'static str,
    /// Other accepted names (`t` for tracepoint).
    pub aliases: &'static [&'static str],
    /// How it is written.
    pub syntax: &'static str,
    /// One line on what it does.
    pub about: &'static str,
    /// Fields it offers, for listings: `(name, meaning)`.
    pub fields: &'static [(&'static str, &'static str)],
    /// The probes of this kind a listing names one by one when a pattern matches them, without their count
    /// (`software:cpu-clock:`, `interval:ms:`), as bpftrace's `-l` does; `None` for kinds whose targets are
    /// the kernel's or a binary's (tracepoints, functions).
    pub targets: Option<fn() -> Vec<String>>,
    /// Resolves a spec of this kind against the kernel.
    pub resolve: Resolver,
}

impl std::fmt::Debug for ProbeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbeKind").field("name", &self.name).finish()
    }
}

/// Every probe kind, in the order `jl -l` lists them.
pub static REGISTRY: &[&ProbeKind] = &[
    &tracepoint::KIND,
    &timer::KIND,
    &timer::HRTIMER_KIND,
    &softirq::KIND,
    &softirq::DELAY_KIND,
    &stall::KIND,
    &skb::KIND,
    &timer::IPVS_EST_KIND,
    &irqoff::KIND,
    &interval::KIND,
    &begin_end::BEGIN,
    &begin_end::END,
    &bench::KIND,
    &begin_end::SELF,
    &rawtracepoint::KIND,
    &kprobe::KPROBE,
    &kprobe::KRETPROBE,
    &fentry::FENTRY,
    &fentry::FEXIT,
    &kfunc::KFUNC,
    &kfunc::KRETFUNC,
    &uprobe::UPROBE,
    &uprobe::URETPROBE,
    &usdt::KIND,
    &profile::KIND,
    &counter::SOFTWARE,
    &counter::HARDWARE,
];

/// Finds the registry entry for a kind name or alias.
pub fn kind(name: &str) -> Option<&'static ProbeKind> {
    REGISTRY.iter().copied().find(|kind| kind.name == name || kind.aliases.contains(&name))
}

/// Resolves a probe spec against the kernel through the registry.
pub fn resolve(spec: &ProbeSpec, kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    let name = spec.kind_name();
    let entry = kind(name).ok_or_else(|| {
        let known: Vec<&str> = REGISTRY.iter().map(|kind| kind.name).collect();
        let error = ProbeError::new(ProbeErrorKind::UnknownKind, format!("unknown probe kind `{name}`")).at(0);
        // The hint names no list of every kind: a new kind must not change the diagnostics of unrelated typos.
        match nearest(name, &known) {
            Some(near) => error.with_hint(format!("did you mean `{near}`? `jl -l` lists the probe kinds")),
            None => error.with_hint("`jl -l` lists the probe kinds"),
        }
    })?;
    (entry.resolve)(spec, kernel)
}

/// A probe's count (`software:cpu-clock:1e6`, `profile:hz:99`) as bpftrace reads one: decimal digits with `_`
/// separators, or a coefficient 1 to 9 and a power of ten (`1e6`, `5e3`); `None` if it is not one or does not
/// fit in 64 bits.
pub(crate) fn parse_count(text: &str) -> Option<u64> {
    let digits = |part: &str| -> Option<u64> {
        let part = part.replace('_', "");
        part.bytes().all(|byte| byte.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    match text.split_once(['e', 'E']) {
        None => digits(text),
        Some((coefficient, exponent)) => {
            let coefficient = digits(coefficient).filter(|c| (1..=9).contains(c))?;
            coefficient.checked_mul(10u64.checked_pow(u32::try_from(digits(exponent)?).ok()?)?)
        }
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|candidate| (edit_distance(word, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len().max(word.len()) / 3).max(1))
        .min()
        .map(|(_, candidate)| candidate)
}

/// `candidates` sorted by edit distance to `word`, nearest first (ties keep their order), for hints that list
/// what exists.
pub fn nearest_first<'a>(word: &str, candidates: &[&'a str]) -> Vec<&'a str> {
    let mut sorted = candidates.to_vec();
    sorted.sort_by_key(|candidate| edit_distance(word, candidate));
    sorted
}

/// Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut table = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in table.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in table[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (table[i - 1][j] + 1).min(table[i][j - 1] + 1).min(table[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(table[i - 2][j - 2] + 1);
            }
            table[i][j] = best;
        }
    }
    table[a.len()][b.len()]
}

/// A companion's program: `emit` writes its body under the comment `about` and may leave through the label it
/// is given; the program then returns 0. The body saves the context itself (`r1` holds it on entry).
fn companion_program(about: String, emit: impl FnOnce(&mut Builder, Label)) -> Result<Program, ProbeError> {
    let mut b = Builder::new();
    let exit = b.new_label();
    b.comment(about);
    emit(&mut b, exit);
    b.bind(exit);
    b.mov64(Reg::R0, 0);
    b.exit();
    Ok(b.finish()?)
}

/// Jumps to `exit` when the unsigned `value < min` (a probe's shortest duration, which may not fit an
/// immediate; uses r2 when it does not).
fn jump_if_below(b: &mut Builder, value: Reg, min: u64, exit: Label) {
    match i32::try_from(min) {
        Ok(imm) => b.jump_if(JmpOp::Lt, value, imm, exit),
        Err(_) => {
            b.ld_imm64(Reg::R2, min);
            b.jump_if(JmpOp::Lt, value, Reg::R2, exit);
        }
    }
}

/// `bpf_probe_read_kernel(r10 + slot, size, base + offset)` into a u64 slot that is then read whole: a read of
/// fewer than 8 bytes zeroes the slot first. (A read of 8 bytes or more writes the slot whole, the helper
/// zeroing it when the read fails.)
pub(super) fn read_kernel(b: &mut Builder, slot: i16, size: i32, base: Reg, offset: i32) {
    if size < 8 {
        b.store_imm(Size::DW, Reg::R10, slot, 0);
    }
    read_kernel_exact(b, slot, size, base, offset);
}

/// `bpf_probe_read_kernel(r10 + slot, size, base + offset)`, for a slot then read with a load of `size` bytes:
/// the bytes read, or zeros when the read fails, and nothing else initialised.
pub(super) fn read_kernel_exact(b: &mut Builder, slot: i16, size: i32, base: Reg, offset: i32) {
    if base != Reg::R3 {
        b.mov64(Reg::R3, base);
    }
    if offset != 0 {
        b.alu64(AluOp::Add, Reg::R3, offset);
    }
    b.stack_pointer(Reg::R1, slot);
    b.mov64(Reg::R2, size);
    b.call(Helper::ProbeReadKernel);
}

/// Follows a chain of kernel pointers: reads the pointer at `base + offsets[0]`, then the one at that pointer plus
/// `offsets[1]`, and so on, each into `r10 + slot`; the last read takes `last_size` bytes (0 when unreadable:
/// a failed read leaves a zero that the next one fails on). Uses r1-r3.
pub(super) fn read_kernel_chain(b: &mut Builder, slot: i16, base: Reg, offsets: &[i32], last_size: i32) {
    for (i, &offset) in offsets.iter().enumerate() {
        let from = if i == 0 {
            base
        } else {
            b.load(Size::DW, Reg::R3, Reg::R10, slot);
            Reg::R3
        };
        let size = if i + 1 == offsets.len() { last_size } else { 8 };
        read_kernel(b, slot, size, from, offset);
    }
}

/// `r0 = bpf_map_lookup_elem(map, r10 + key)` for a u32 key the caller stored there, leaving through `exit` when
/// the lookup fails. The per-CPU slot lookup every pairing probe starts with.
fn lookup_stack_key(b: &mut Builder, map: usize, key: i16, exit: Label) {
    map_call(b, Helper::MapLookupElem, map, key, None);
    b.jump_if(crate::insn::JmpOp::Eq, Reg::R0, 0, exit);
}

/// Writes `names[i]`, NUL-padded to `size` bytes, at `r10 + offset`, where `i` is the u64 at `r10 + index`
/// (nothing but zeros when out of range): computed name fields such as a stall's `victim`. Uses r1.
fn emit_name_of(b: &mut Builder, index: i16, names: &[&str], offset: i16, size: u32) {
    zero_stack(b, offset, size);
    b.load(Size::DW, Reg::R1, Reg::R10, index);
    emit_name_among(b, Reg::R1, names.iter().copied().enumerate(), offset, size);
}

/// Writes the text of the [`FieldType::Name`] value in `index` (its table's name of that index), NUL-padded to
/// `size` bytes, at `r10 + offset`: nothing but zeros when no name has that index.
pub fn emit_name_text(b: &mut Builder, index: Reg, names: EnumNames, offset: i16, size: u32) {
    zero_stack(b, offset, size);
    let candidates = names.enumerators().iter().map(|(value, name)| (*value as usize, *name));
    emit_name_among(b, index, candidates, offset, size);
}

/// The bytes of a task's `comm`.
pub const COMM_SIZE: u32 = 16;

/// `bpf_get_current_comm()` into the [`COMM_SIZE`] bytes at `r10 + offset` (8-byte aligned), zeroed first: some
/// kernels copy with `strscpy` and leave the bytes after the NUL as they were (Debian 12's 6.1; its 5.10 and 6.12
/// pad with zeros), so the same comm gave map keys, comparisons and hashes that differed in stack garbage there
/// (`@[comm] = count()` printed `@[dd]` 29 times for one `dd`). Uses r0-r5.
pub fn emit_current_comm(b: &mut Builder, offset: i16) {
    zero_stack(b, offset, COMM_SIZE);
    b.stack_pointer(Reg::R1, offset);
    b.mov64(Reg::R2, COMM_SIZE as i32);
    b.call(Helper::GetCurrentComm);
}

/// Writes the name of the candidate whose index `index` holds into the zeroed `size` bytes at `r10 + offset`:
/// one comparison per candidate, nothing written when it is none of them.
fn emit_name_among<'a>(
    b: &mut Builder,
    index: Reg,
    candidates: impl IntoIterator<Item = (usize, &'a str)>,
    offset: i16,
    size: u32,
) {
    let done = b.new_label();
    for (i, name) in candidates {
        let next = b.new_label();
        b.jump_if(JmpOp::Ne, index, i as i32, next);
        store_text(b, name, offset, size);
        b.jump(done);
        b.bind(next);
    }
    // The code using the field follows, so `done` binds to a real instruction.
    b.bind(done);
}

/// Writes `text`, NUL-padded to `size` bytes, at `r10 + offset`: a computed name known when compiling.
fn emit_text(b: &mut Builder, text: &str, offset: i16, size: u32) {
    zero_stack(b, offset, size);
    store_text(b, text, offset, size);
}

/// Zeroes `size` bytes (a multiple of 8) at `r10 + offset`.
fn zero_stack(b: &mut Builder, offset: i16, size: u32) {
    for i in 0..(size / 8) as i16 {
        b.store_imm(Size::DW, Reg::R10, offset + 8 * i, 0);
    }
}

/// Writes the characters of `text` (at most `size - 1` of them) at `r10 + offset` in 4-byte stores, the last
/// one NUL-padded; the bytes after them up to `size` are left as they are (the caller zeroed them).
fn store_text(b: &mut Builder, text: &str, offset: i16, size: u32) {
    let mut bytes = text.as_bytes().to_vec();
    bytes.truncate(size.saturating_sub(1) as usize);
    bytes.resize(bytes.len().div_ceil(4) * 4, 0);
    for (j, word) in bytes.chunks(4).enumerate() {
        let word = i32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        b.store_imm(Size::W, Reg::R10, offset + 4 * j as i16, word);
    }
}

/// Checks that a path spec has exactly `parts` parts (kind included) and returns them.
fn path_parts<'a>(spec: &'a ProbeSpec, kind: &str, parts: usize, syntax: &str) -> Result<&'a [String], ProbeError> {
    match spec {
        ProbeSpec::Path(found) if found.len() == parts => Ok(found),
        _ => Err(ProbeError::new(ProbeErrorKind::BadSpec, format!("`{kind}` probes are written `{syntax}`")).at(0)),
    }
}

/// `kind:part:part` from its parts, for tests.
#[cfg(test)]
pub(crate) fn path_spec(parts: &[&str]) -> ProbeSpec {
    ProbeSpec::Path(parts.iter().map(|part| part.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::{nearest, nearest_first};

    #[test]
    fn nearest_first_orders_by_distance() {
        assert_eq!(nearest_first("tgd", &["comm", "pid", "tgid", "prio"]), ["tgid", "pid", "comm", "prio"]);
    }

    #[test]
    fn nearest_finds_typos_and_transpositions() {
        assert_eq!(nearest("pdi", &["pid", "tid", "comm"]), Some("pid"));
        assert_eq!(nearest("tracepont", &["tracepoint", "timer"]), Some("tracepoint"));
        assert_eq!(nearest("zzzz", &["pid", "comm"]), None);
    }
}
