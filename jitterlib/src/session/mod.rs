//! The runtime session: loads an object written by [`crate::object`] with aya, attaches its programs, runs
//! the manual ones (`BEGIN`/`END`) on demand, reads maps and streams ring buffer records.
//!
//! Everything the kernel holds for a session (programs, maps, links, perf events) is owned through file
//! descriptors and nothing is pinned: dropping the [`Session`] detaches and unloads it all.

mod attach;
mod error;
#[cfg(test)]
pub(crate) mod fixtures;
mod loader;
mod maps_read;
mod perf_counter;
mod quiesce;
mod ring;
mod semaphore;
#[cfg(test)]
mod tests;
mod verifier_log;

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Mutex;

use aya::maps::{Map, MapData, RingBuf};
use aya::Ebpf;

pub use error::SessionError;
pub use loader::prepare as prepare_loader;
pub use perf_counter::PerfCounter;
pub use ring::RingReader;
pub use verifier_log::Rejection;

use crate::maps::{MapEntries, MapKind, GATE_MAP_NAME};
use maps_read::MapLayout;

/// Section used for manual programs: a raw tracepoint program that is never attached, only test-run.
const MANUAL_SECTION: &str = "raw_tracepoint/jl_manual";

/// Size of the context handed to a manual program: the kernel's upper bound for raw tracepoint arguments
/// (`MAX_BPF_FUNC_ARGS` u64s), all zero.
const MANUAL_CONTEXT_SIZE: usize = 12 * 8;

/// Where and how a program runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Attach {
    /// A tracefs tracepoint (`BPF_PROG_TYPE_TRACEPOINT`), e.g. `irq:softirq_entry`.
    Tracepoint {
        /// Event category (`irq`).
        category: String,
        /// Event name (`softirq_entry`).
        name: String,
    },
    /// A raw tracepoint (`BPF_PROG_TYPE_RAW_TRACEPOINT`): untyped `u64` arguments, no tracefs needed.
    RawTracepoint {
        /// Tracepoint name (`softirq_entry`).
        name: String,
    },
    /// A raw tracepoint program that is not attached itself: a dispatcher attached to `tracepoint` jumps to it
    /// with `bpf_tail_call` through slot `slot` of the program array `map`, and attaching it puts it there
    /// (syscall events on `raw_syscalls`).
    TailCall {
        /// The raw tracepoint the dispatcher is attached to (`sys_enter`).
        tracepoint: String,
        /// The program array's name in the object.
        map: String,
        /// The slot.
        slot: u32,
    },
    /// A BTF-typed raw tracepoint (`tp_btf`, `BPF_PROG_TYPE_TRACING`): arguments read with plain loads.
    TpBtf {
        /// Tracepoint name (`softirq_entry`).
        name: String,
    },
    /// A kprobe at the entry of a kernel function (needs `CONFIG_KPROBES`).
    Kprobe {
        /// Kernel function name.
        function: String,
    },
    /// A kretprobe at the return of a kernel function (needs `CONFIG_KPROBES`).
    Kretprobe {
        /// Kernel function name.
        function: String,
    },
    /// An fentry trampoline at the entry of a kernel function (needs BTF and trampoline support).
    Fentry {
        /// Kernel function name.
        function: String,
    },
    /// An fexit trampoline at the return of a kernel function.
    Fexit {
        /// Kernel function name.
        function: String,
    },
    /// A uprobe (`ret` false) or uretprobe (`ret` true) at a file offset of a user-space binary, in every
    /// process that maps it.
    Uprobe {
        /// The binary's path.
        binary: String,
        /// The function (or `0xADDRESS`) as written, for section names and messages.
        symbol: String,
        /// The file offset the probe sits at.
        offset: u64,
        /// Whether it fires at the function's return rather than its entry.
        ret: bool,
        /// The file offset of a USDT probe's semaphore, which the kernel increments while the probe is attached
        /// (Linux 4.20), in every process mapping the binary.
        semaphore: Option<u64>,
    },
    /// A perf event running the program every `period` units of `counter` (nanoseconds for the CPU clock), on
    /// one CPU or on every online CPU (`interval:`, `profile:`, `software:` and `hardware:` probes).
    Perf {
        /// What the event counts.
        counter: PerfCounter,
        /// Units of the counter between two runs.
        period: u64,
        /// One CPU, or `None` for every online CPU.
        cpu: Option<u32>,
    },
    /// Loaded but never attached: run on demand with [`Session::run`] (`BEGIN`/`END` blocks). Needs
    /// `BPF_PROG_TEST_RUN` for raw tracepoint programs (Linux 5.10).
    Manual,
    /// Loaded as an XDP program and never attached: run many times in a row with [`Session::bench`] (a `bench:`
    /// block; XDP is a type whose test runs the kernel repeats and times, which raw tracepoints' do not).
    Benchmark {
        /// The benchmark's name, its row in the results (`bench:NAME`).
        name: String,
    },
}

impl Attach {
    /// The ELF section name the object writer must give the program, which tells aya its type.
    pub fn section_name(&self) -> String {
        match self {
            Attach::Tracepoint { category, name } => format!("tracepoint/{category}/{name}"),
            Attach::RawTracepoint { name } => format!("raw_tracepoint/{name}"),
            // A section of its own (the object's function info is found by section name).
            Attach::TailCall { map, slot, .. } => format!("raw_tracepoint/{map}_{slot}"),
            Attach::TpBtf { name } => format!("tp_btf/{name}"),
            Attach::Kprobe { function } => format!("kprobe/{function}"),
            Attach::Kretprobe { function } => format!("kretprobe/{function}"),
            Attach::Fentry { function } => format!("fentry/{function}"),
            Attach::Fexit { function } => format!("fexit/{function}"),
            Attach::Uprobe { symbol, ret, .. } => format!("{}/{symbol}", uprobe_kind(*ret)),
            Attach::Perf { .. } => "perf_event".to_string(),
            Attach::Manual => MANUAL_SECTION.to_string(),
            Attach::Benchmark { .. } => "xdp".to_string(),
        }
    }

    /// The attach point as a script would write it, for messages (`tracepoint:irq:softirq_entry`).
    pub fn target(&self) -> String {
        match self {
            Attach::Tracepoint { category, name } => format!("tracepoint:{category}:{name}"),
            Attach::RawTracepoint { name } => format!("rawtracepoint:{name}"),
            Attach::TailCall { tracepoint, map, slot } => format!("rawtracepoint:{tracepoint} (slot {slot} of {map})"),
            Attach::TpBtf { name } => format!("tp_btf:{name}"),
            Attach::Kprobe { function } => format!("kprobe:{function}"),
            Attach::Kretprobe { function } => format!("kretprobe:{function}"),
            Attach::Fentry { function } => format!("fentry:{function}"),
            Attach::Fexit { function } => format!("fexit:{function}"),
            Attach::Uprobe { binary, symbol, ret, .. } => format!("{}:{binary}:{symbol}", uprobe_kind(*ret)),
            Attach::Perf { counter, period, cpu } => {
                let unit = if *counter == PerfCounter::CpuClock { " ns" } else { "" };
                let cpus = cpu.map_or("every CPU".to_string(), |cpu| format!("CPU {cpu}"));
                format!("perf {} every {period}{unit} on {cpus}", counter.name())
            }
            Attach::Manual => "manual run".to_string(),
            Attach::Benchmark { name } => format!("benchmark {name}"),
        }
    }

    /// Whether the program only runs when asked ([`Session::run`], [`Session::bench`]), never attached.
    pub fn runs_on_demand(&self) -> bool {
        matches!(self, Attach::Manual | Attach::Benchmark { .. })
    }

    /// [`Attach::mode`] of [`Attach::Manual`].
    const MANUAL_MODE: &'static str = "manual";
    /// [`Attach::mode`] of [`Attach::Benchmark`].
    const BENCHMARK_MODE: &'static str = "benchmark";

    /// How the program runs, for [`SessionError::WrongMode`]: `manual`, `benchmark` or `attachable`.
    pub(crate) fn mode(&self) -> &'static str {
        match self {
            Attach::Manual => Self::MANUAL_MODE,
            Attach::Benchmark { .. } => Self::BENCHMARK_MODE,
            _ => "attachable",
        }
    }
}

/// `uprobe`, or `uretprobe` for a return probe.
fn uprobe_kind(ret: bool) -> &'static str {
    if ret {
        "uretprobe"
    } else {
        "uprobe"
    }
}

/// A program of the object and where it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramSpec {
    /// The program's symbol name in the object.
    pub name: String,
    /// Its attach point.
    pub attach: Attach,
}

/// A loaded object: its programs, maps and links. Dropping it detaches and unloads everything.
///
/// ```no_run
/// use jitterlib::session::{Attach, ProgramSpec, Session};
///
/// # fn object_bytes() -> Vec<u8> { Vec::new() }
/// let specs = [
///     ProgramSpec { name: "begin".into(), attach: Attach::Manual },
///     ProgramSpec {
///         name: "on_softirq".into(),
///         attach: Attach::Tracepoint { category: "irq".into(), name: "softirq_entry".into() },
///     },
/// ];
/// let mut session = Session::load(&object_bytes(), &specs)?;
/// session.run("begin")?;
/// session.attach_all()?;
/// let counts = session.read_map("counts")?;
/// # Ok::<(), jitterlib::session::SessionError>(())
/// ```
pub struct Session {
    ebpf: Ebpf,
    attach_points: HashMap<String, Attach>,
    /// Duplicates of the descriptors of programs [`Session::detach_all`] detached: they keep those programs'
    /// miss counters readable for [`Session::missed_events`].
    detached: Vec<OwnedFd>,
    /// The perf events of uprobes that count a USDT semaphore (attached without aya): closing one detaches it.
    semaphore_events: Vec<OwnedFd>,
    /// The maps [`Session::zero_map`] zeroed and [`Session::clear_map`] has not emptied since: their zeroes are
    /// values that print ([`Session::was_zeroed`]), not slots nobody wrote. For an array, the slots that held
    /// something when it was zeroed: its keys, which [`Session::read_map`] keeps (its other zeroed slots were
    /// never written).
    zeroed: Mutex<HashMap<String, Vec<Vec<u8>>>>,
}

impl Drop for Session {
    /// Detaches and unloads every program, all at once (one thread each).
    fn drop(&mut self) {
        unload_where(&mut self.ebpf, |_| true);
    }
}

/// Detaches and unloads the programs whose name passes `pick`, all at once, one thread each: closing a
/// tracepoint link waits for an RCU grace period (about 80 ms here), and one after the other they made exit grow
/// by that much per probe.
fn unload_where(ebpf: &mut Ebpf, pick: impl Fn(&str) -> bool + Sync) {
    std::thread::scope(|scope| {
        for (name, program) in ebpf.programs_mut() {
            if pick(name) {
                scope.spawn(move || attach::unload(program));
            }
        }
    });
}

impl Session {
    /// Loads `object` (maps first, then every program listed in `programs`) without attaching anything.
    ///
    /// Programs of the object missing from `programs` are left unloaded. Verifier rejections come back as
    /// [`SessionError::Verifier`] with the kernel's log.
    pub fn load(object: &[u8], programs: &[ProgramSpec]) -> Result<Session, SessionError> {
        let ebpf = loader::loader().load(object).map_err(|source| SessionError::Object { source: Box::new(source) })?;
        let mut session = Session {
            ebpf,
            attach_points: HashMap::new(),
            detached: Vec::new(),
            semaphore_events: Vec::new(),
            zeroed: Mutex::default(),
        };
        let mut btf = attach::KernelBtf::default();
        for spec in programs {
            let program = session.program_mut(&spec.name)?;
            attach::load(program, &spec.name, &spec.attach, &mut btf)?;
            session.attach_points.insert(spec.name.clone(), spec.attach.clone());
        }
        Ok(session)
    }

    /// Attaches one loaded program to its attach point (an error for [`Attach::Manual`] programs). The start/stop
    /// gate stays as it is: [`Session::attach_all`] opens it.
    pub fn attach(&mut self, program: &str) -> Result<(), SessionError> {
        let attach_point = self.attach_point(program)?.clone();
        let loaded = self.program_mut(program)?;
        if let Attach::Uprobe { binary, offset, semaphore: Some(semaphore), .. } = &attach_point {
            let fd = loaded.fd().map_err(|error| attach::attach_error(program, &attach_point, error))?;
            let event = semaphore::attach(fd.as_fd(), program, &attach_point, (binary, *offset, *semaphore))?;
            self.semaphore_events.push(event);
            return Ok(());
        }
        if let Attach::TailCall { map, slot, .. } = &attach_point {
            let fd = attach::program_fd(loaded, program, &attach_point)?;
            let map = self.ebpf.map_mut(map).ok_or_else(|| SessionError::MapNotFound { map: map.clone() })?;
            return attach::put_in_slot(map, *slot, &fd, program, &attach_point);
        }
        attach::attach(loaded, program, &attach_point)
    }

    /// Attaches every loaded program except the manual ones, in name order, those reached by tail calls first
    /// (so that a dispatcher finds them all from its first run), then opens the object's start/stop gate
    /// ([`crate::maps::Gate`]), if it has one: its programs all start reporting at that instant.
    pub fn attach_all(&mut self) -> Result<(), SessionError> {
        let mut names: Vec<(bool, String)> = self
            .attach_points
            .iter()
            .filter(|(_, attach)| !attach.runs_on_demand())
            .map(|(name, attach)| (!matches!(attach, Attach::TailCall { .. }), name.clone()))
            .collect();
        names.sort();
        names.iter().try_for_each(|(_, name)| self.attach(name))?;
        self.set_gate(true)
    }

    /// Closes the start/stop gate, if the object has one, then detaches every attached program, so that nothing
    /// changes the maps any more: a final read then sees one consistent state, every gated program's window
    /// ending at the same instant (without a gate, programs are closed one after the other, so an event in
    /// between reaches some and not others). Returns once the runs in progress on other CPUs have ended too
    /// (raw tracepoint, tp_btf and fentry links do not wait for them when closed: see `quiesce.rs`). Manual
    /// programs (BEGIN, END) stay loaded and runnable, and [`Session::missed_events`] still counts the detached
    /// programs' misses.
    pub fn detach_all(&mut self) -> Result<(), SessionError> {
        self.set_gate(false)?;
        let attached = |name: &str| self.attach_points.get(name).is_some_and(|attach| !attach.runs_on_demand());
        let wait = quiesce::Wait::for_points(self.attach_points.values(), quiesce::running_version().as_ref());
        for (name, program) in self.ebpf.programs() {
            if attached(name) {
                if let Ok(fd) = program.fd() {
                    let duplicate = fd.as_fd().try_clone_to_owned().map_err(|source| SessionError::Syscall {
                        what: "duplicating a program's descriptor",
                        source,
                    })?;
                    self.detached.push(duplicate);
                }
            }
        }
        self.semaphore_events.clear();
        unload_where(&mut self.ebpf, attached);
        wait.wait();
        Ok(())
    }

    /// Runs a manual program once with `BPF_PROG_TEST_RUN` on the current CPU and returns its return value.
    pub fn run(&self, program: &str) -> Result<u32, SessionError> {
        let fd = self.on_demand_fd(program, Attach::MANUAL_MODE)?;
        let mut context = [0u8; MANUAL_CONTEXT_SIZE];
        crate::sys::prog_test_run(fd.as_fd(), &mut context)
            .map_err(|source| SessionError::Syscall { what: "BPF_PROG_TEST_RUN", source })
    }

    /// Runs the [`Attach::Benchmark`] program `program` `repeat` times in a row on this CPU and returns the mean
    /// nanoseconds of one run (the kernel's clock around the runs).
    pub fn bench(&self, program: &str, repeat: u32) -> Result<u32, SessionError> {
        let fd = self.on_demand_fd(program, Attach::BENCHMARK_MODE)?;
        let (_retval, mean_ns) = crate::sys::prog_test_run_repeated(fd.as_fd(), repeat)
            .map_err(|source| SessionError::Syscall { what: "BPF_PROG_TEST_RUN of an XDP program", source })?;
        Ok(mean_ns)
    }

    /// The descriptor of the loaded `program`, which must run on demand in `mode` (see [`Attach::mode`]).
    fn on_demand_fd(&self, program: &str, mode: &'static str) -> Result<&aya::programs::ProgramFd, SessionError> {
        let found = self.attach_point(program)?;
        if found.mode() != mode {
            return Err(SessionError::WrongMode { program: program.to_string(), actual: found.mode(), expected: mode });
        }
        let loaded =
            self.ebpf.program(program).ok_or_else(|| SessionError::ProgramNotFound { program: program.to_string() })?;
        loaded.fd().map_err(|source| SessionError::Load { program: program.to_string(), source: Box::new(source) })
    }

    /// Events the kernel did not hand to this session's programs because another BPF program was running on
    /// that CPU at the time (the sum of every program's `recursion_misses`; 0 before Linux 5.12).
    pub fn missed_events(&self) -> Result<u64, SessionError> {
        let loaded = self.ebpf.programs().filter_map(|(_, program)| program.fd().ok().map(|fd| fd.as_fd()));
        let detached = self.detached.iter().map(|fd| fd.as_fd());
        let mut total = 0;
        for fd in loaded.chain(detached) {
            total += crate::sys::prog_recursion_misses(fd)
                .map_err(|source| SessionError::Syscall { what: "BPF_OBJ_GET_INFO_BY_FD on a program", source })?;
        }
        Ok(total)
    }

    /// Reads every entry of a hash or array map (per-CPU or not) as raw bytes.
    pub fn read_map(&self, map: &str) -> Result<MapEntries, SessionError> {
        let (data, layout) = self.readable_map(map, "reading")?;
        let entries = maps_read::read(data.fd().as_fd(), &layout).map_err(|source| SessionError::Syscall {
            what: "reading a map (BPF_MAP_GET_NEXT_KEY/LOOKUP_ELEM)",
            source,
        })?;
        let zeroed = self.zeroed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(match zeroed.get(map).filter(|_| layout.is_array()) {
            Some(kept) => maps_read::written_slots(entries, kept),
            None => entries,
        })
    }

    /// Reads the value under one key of a hash, array or stack-trace map (per-CPU maps: one 8-byte aligned value
    /// per possible CPU, one after another); `None` when the key is absent. A stack id's frames, for example.
    pub fn lookup(&self, map: &str, key: &[u8]) -> Result<Option<Vec<u8>>, SessionError> {
        let (data, layout) = self.readable_map(map, "looking up")?;
        maps_read::lookup(data.fd().as_fd(), &layout, key)
            .map_err(|source| SessionError::Syscall { what: "looking up a map key (BPF_MAP_LOOKUP_ELEM)", source })
    }

    /// Empties a hash map, or zeroes every slot of an array map.
    pub fn clear_map(&self, map: &str) -> Result<(), SessionError> {
        let (data, layout) = self.readable_map(map, "clearing")?;
        self.zeroed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(map);
        maps_read::clear(data.fd().as_fd(), &layout)
            .map_err(|source| SessionError::Syscall { what: "clearing a map (BPF_MAP_DELETE/UPDATE_ELEM)", source })
    }

    /// Sets every value of a hash or array map to zero, keeping the keys.
    pub fn zero_map(&self, map: &str) -> Result<(), SessionError> {
        let (data, layout) = self.readable_map(map, "zeroing")?;
        let kept = maps_read::zero(data.fd().as_fd(), &layout)
            .map_err(|source| SessionError::Syscall { what: "zeroing a map (BPF_MAP_UPDATE_ELEM)", source })?;
        let mut zeroed = self.zeroed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        zeroed.entry(map.to_string()).or_default().extend(kept);
        Ok(())
    }

    /// Whether [`Session::zero_map`] zeroed `map` and nothing cleared it since: bpftrace prints such a map's
    /// zeroes (`@c: 0`, a histogram's empty buckets), where it prints nothing for a map never written or cleared.
    pub fn was_zeroed(&self, map: &str) -> bool {
        self.zeroed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains_key(map)
    }

    /// Deletes every entry of a hash map whose key starts with `prefix` (one entry's key, and with it each of
    /// its histogram buckets) and returns how many went.
    pub fn delete_keys(&self, map: &str, prefix: &[u8]) -> Result<usize, SessionError> {
        let (data, layout) = self.readable_map(map, "deleting keys of")?;
        maps_read::delete_prefix(data.fd().as_fd(), &layout, prefix)
            .map_err(|source| SessionError::Syscall { what: "deleting map keys (BPF_MAP_DELETE_ELEM)", source })
    }

    /// Zeroes the slots `keys` of an array map (whose slots cannot be deleted) and returns how many were keys
    /// (held anything but zeroes, or were kept by [`Session::zero_map`], which they no longer are): how a key of
    /// an aggregation kept in an array ([`MapLayout::name_slots`](crate::agg::MapLayout::name_slots)) is
    /// deleted, its zeroed slots no longer printed.
    pub fn zero_slots(&self, map: &str, keys: &[Vec<u8>]) -> Result<usize, SessionError> {
        let (data, layout) = self.readable_map(map, "zeroing slots of")?;
        let mut zeroed = self.zeroed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let gone = zeroed.get_mut(map).map_or(0, |kept| {
            let before = kept.len();
            kept.retain(|key| !keys.contains(key));
            before - kept.len()
        });
        let written = maps_read::zero_slots(data.fd().as_fd(), &layout, keys)
            .map_err(|source| SessionError::Syscall { what: "zeroing array slots (BPF_MAP_UPDATE_ELEM)", source })?;
        Ok(written + gone)
    }

    /// Takes a ring buffer map out of the session and returns its consumer. A map can be taken once.
    pub fn ring_buffer(&mut self, map: &str) -> Result<RingReader, SessionError> {
        let existing = self.ebpf.map(map).ok_or_else(|| SessionError::MapNotFound { map: map.to_string() })?;
        if !matches!(existing, Map::RingBuf(_)) {
            let kind = map_kind_name(existing);
            return Err(SessionError::UnsupportedMap { map: map.to_string(), kind, operation: "a ring reader" });
        }
        let taken = self.ebpf.take_map(map).ok_or_else(|| SessionError::MapNotFound { map: map.to_string() })?;
        let ring = RingBuf::try_from(taken).map_err(|source| SessionError::Syscall {
            what: "mapping the ring buffer",
            source: std::io::Error::other(source),
        })?;
        Ok(RingReader::new(ring))
    }

    /// Opens or closes the start/stop gate, when the object has one ([`GATE_MAP_NAME`]).
    fn set_gate(&self, open: bool) -> Result<(), SessionError> {
        let Some(Map::Array(gate)) = self.ebpf.map(GATE_MAP_NAME) else { return Ok(()) };
        let value = u64::from(open).to_ne_bytes();
        crate::sys::map_overwrite(gate.fd().as_fd(), &0u32.to_ne_bytes(), &value)
            .map_err(|source| SessionError::Syscall { what: "opening or closing the start/stop gate", source })
    }

    fn attach_point(&self, program: &str) -> Result<&Attach, SessionError> {
        self.attach_points.get(program).ok_or_else(|| SessionError::ProgramNotFound { program: program.to_string() })
    }

    fn program_mut(&mut self, program: &str) -> Result<&mut aya::programs::Program, SessionError> {
        self.ebpf.program_mut(program).ok_or_else(|| SessionError::ProgramNotFound { program: program.to_string() })
    }

    fn readable_map(&self, name: &str, operation: &'static str) -> Result<(&MapData, MapLayout), SessionError> {
        let map = self.ebpf.map(name).ok_or_else(|| SessionError::MapNotFound { map: name.to_string() })?;
        let (kind, data) = match map {
            Map::HashMap(data) => (MapKind::Hash, data),
            Map::Array(data) => (MapKind::Array, data),
            Map::PerCpuHashMap(data) => (MapKind::PerCpuHash, data),
            Map::LruHashMap(data) => (MapKind::LruHash, data),
            Map::PerCpuLruHashMap(data) => (MapKind::LruPerCpuHash, data),
            Map::PerCpuArray(data) => (MapKind::PerCpuArray, data),
            Map::StackTraceMap(data) => (MapKind::StackTrace, data),
            other => {
                return Err(SessionError::UnsupportedMap {
                    map: name.to_string(),
                    kind: map_kind_name(other),
                    operation,
                })
            }
        };
        let info = data.info().map_err(|source| SessionError::Syscall {
            what: "BPF_OBJ_GET_INFO_BY_FD on a map",
            source: std::io::Error::other(source),
        })?;
        let possible_cpus = aya::util::nr_cpus().map_err(|(_, source)| SessionError::Syscall {
            what: "reading /sys/devices/system/cpu/possible",
            source,
        })?;
        let layout = MapLayout {
            kind,
            key_size: info.key_size() as usize,
            value_size: info.value_size() as usize,
            max_entries: info.max_entries() as usize,
            possible_cpus,
        };
        Ok((data, layout))
    }
}

/// The variant name aya gives the map (`RingBuf`, `StackTraceMap`, ...), for messages: `Map` has no
/// public accessor for its type or its `MapData` short of matching all thirty variants.
fn map_kind_name(map: &Map) -> String {
    let debug = format!("{map:?}");
    debug.split('(').next().unwrap_or_default().to_string()
}
