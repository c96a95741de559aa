//! [`LiveKernel`]: metadata read from the running kernel on first use, then cached.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::btf::{Btf, IndexOrigin};
use super::fixture::{KernelSnapshot, SnapshotSelection};
use super::kallsyms::{Kallsyms, ScannedName, Symbol};
use super::mechanisms::{self, FunctionProbes, TracepointMechanism, TracepointProbes, FENTRY_TEST_TARGETS};
use super::symbol_lookup::{self, LOOKUP_HELPER_SINCE};
use super::tracefs::{ensure_tracefs, list_tracepoints, read_dynamic_events, read_format, TracepointFormat};
use super::{KernelEnum, KernelError, KernelInfo, KernelVersion, Member};

/// The kernel release, as `uname -r` prints it.
const OSRELEASE: &str = "/proc/sys/kernel/osrelease";
/// Where loaded modules are listed; absent on kernels built without module support.
const PROC_MODULES: &str = "/proc/modules";

/// The running kernel.
///
/// Nothing is read at construction: tracefs, `/proc/kallsyms` and BTF are each read on the first question
/// that needs them and kept for later ones, except that the first symbol name asked for is found without the
/// table (a script that needs one function's address, and symbolizes only that function, never holds the 6 MB
/// table): from Linux 5.16 by the kernel's own lookup (`bpf_kallsyms_lookup_name` in a syscall program run
/// once, which spares the kernel generating kallsyms), else, or for a name the kernel knows only as a compiler
/// clone (`foo.isra.0`), by a scan of kallsyms that keeps only that name's symbols. Reading tracefs may mount
/// it (see [`ensure_tracefs`]).
///
/// # Example
/// ```no_run
/// use jitterlib::kernel::{KernelInfo, LiveKernel};
/// let kernel = LiveKernel::new();
/// let format = kernel.tracepoint("sched", "sched_switch")?;
/// println!("next_pid at offset {}", format.field("next_pid").map_or(0, |f| f.offset));
/// # Ok::<(), jitterlib::kernel::KernelError>(())
/// ```
#[derive(Debug, Default)]
pub struct LiveKernel {
    version: OnceLock<KernelVersion>,
    tracefs: OnceLock<PathBuf>,
    formats: Mutex<HashMap<(String, String), Arc<TracepointFormat>>>,
    tracepoint_list: OnceLock<Vec<(String, String)>>,
    /// tracefs's `dynamic_events`, read once for every tracepoint format.
    dynamic_events: OnceLock<String>,
    kallsyms: OnceLock<Kallsyms>,
    /// The one name looked up without the table, before the table is read.
    scanned_kallsyms: Mutex<Option<ScannedName>>,
    /// Whether the kernel's own lookup must not be used (tests of the scan).
    lookup_helper_off: bool,
    btf: OnceLock<Btf>,
    /// Where the index of the kernel's BTF is kept across runs, when the caller asked for that.
    btf_cache: Option<PathBuf>,
    /// Where this run's index of the kernel's BTF came from (with [`LiveKernel::with_btf_cache`]).
    btf_origin: OnceLock<IndexOrigin>,
    module_btf: Mutex<HashMap<String, Arc<Option<Btf>>>>,
    modules: OnceLock<Vec<String>>,
    hz: OnceLock<u32>,
    function_probes: OnceLock<FunctionProbes>,
    /// Why fentry must not be used, when the caller turned it off.
    fentry_off: Option<String>,
    /// The mechanism the caller asked typed probes to use on tracepoints, and why.
    tracepoint_mechanism: Option<(TracepointMechanism, String)>,
}

impl LiveKernel {
    /// A handle on the running kernel; reads nothing yet.
    pub fn new() -> LiveKernel {
        LiveKernel::default()
    }

    /// The same handle, answering that fentry cannot be used (for `reason`, shown by `jl -v`) whatever the
    /// kernel allows: probes that would use it fall back to kprobes (`jl --no-fentry`).
    pub fn without_fentry(mut self, reason: impl Into<String>) -> LiveKernel {
        self.fentry_off = Some(reason.into());
        self
    }

    /// The same handle, answering that typed probes should reach tracepoints with `mechanism` where the kernel
    /// allows it ([`TracepointProbes::using`]; `reason`, shown by `jl -v`, says who asked): tp_btf first, or
    /// perf-event tracepoints only, as on a kernel older than 4.17 (`JL_TRACEPOINT_MECHANISM`, for tests).
    pub fn with_tracepoint_mechanism(
        mut self,
        mechanism: TracepointMechanism,
        reason: impl Into<String>,
    ) -> LiveKernel {
        self.tracepoint_mechanism = Some((mechanism, reason.into()));
        self
    }

    /// The same handle, keeping the index of the kernel's BTF in directory `dir` across runs
    /// ([`Btf::vmlinux_indexed`]): a later run reads it instead of walking the BTF's types. A directory that
    /// cannot be created or written is no error: the types are walked, as without this call.
    pub fn with_btf_cache(mut self, dir: impl Into<PathBuf>) -> LiveKernel {
        self.btf_cache = Some(dir.into());
        self
    }

    /// The running kernel's BTF (opened on first use, then read in place as questions come), for questions
    /// beyond [`KernelInfo`] such as [`Btf::function_params`].
    pub fn btf(&self) -> Result<&Btf, KernelError> {
        cached(&self.btf, || match &self.btf_cache {
            Some(dir) => {
                let (btf, origin) = Btf::vmlinux_indexed(dir)?;
                let _ = self.btf_origin.set(origin);
                Ok(btf)
            }
            None => Btf::vmlinux(),
        })
    }

    /// Where the index of the kernel's BTF came from, once the BTF has been opened with a cache directory
    /// ([`LiveKernel::with_btf_cache`]): read from the cache, or walked (and why). `None` before, or without one.
    pub fn btf_index_origin(&self) -> Option<&IndexOrigin> {
        self.btf_origin.get()
    }

    /// Whether the kernel's BTF has been opened (by a question that needed it).
    #[cfg(test)]
    pub(crate) fn btf_opened(&self) -> bool {
        self.btf.get().is_some()
    }

    /// Collects the parts of this kernel named by `selection` into a snapshot for [`super::FixtureKernel`].
    ///
    /// Symbols that do not exist are left out; struct members that do not exist are left out.
    pub fn snapshot(&self, selection: &SnapshotSelection) -> Result<KernelSnapshot, KernelError> {
        let mut tracepoints = Vec::new();
        for (category, name) in self.tracepoints()? {
            let whole_category = selection.tracepoint_categories.contains(&category);
            if whole_category || selection.tracepoints.contains(&(category.clone(), name.clone())) {
                tracepoints.push((*self.tracepoint(&category, &name)?).clone());
            }
        }
        let mut symbols = Vec::new();
        for name in &selection.symbols {
            symbols.extend(self.kallsyms()?.matching(name)?);
        }
        symbols.sort_by(|a, b| (&a.name, a.address).cmp(&(&b.name, b.address)));
        let mut structs = BTreeMap::new();
        for (struct_name, members) in &selection.structs {
            if self.struct_members(struct_name, "")?.is_none() {
                continue;
            }
            let found: &mut BTreeMap<String, Member> = structs.entry(struct_name.clone()).or_default();
            for member in members {
                if let Some(layout) = self.struct_member(struct_name, member)? {
                    found.insert(member.clone(), layout);
                }
            }
        }
        let mut functions = BTreeMap::new();
        for name in &selection.functions {
            if let Some(params) = self.function_params(name)? {
                functions.insert(name.clone(), params);
            }
        }
        let mut raw_tracepoints = BTreeMap::new();
        for name in &selection.raw_tracepoints {
            if let Some(params) = self.raw_tracepoint_params(name)? {
                raw_tracepoints.insert(name.clone(), params);
            }
        }
        let mut enums = Vec::new();
        for name in &selection.enums {
            if let Some(found) = self.enum_type(name)?.map_or_else(|| self.enum_with(name), |found| Ok(Some(found)))? {
                enums.push(found);
            }
        }
        enums.sort_by(|a, b| (&a.name, a.enumerators.first()).cmp(&(&b.name, b.enumerators.first())));
        enums.dedup();
        Ok(KernelSnapshot {
            release: self.version().release.clone(),
            tracepoints,
            symbols,
            modules: self.modules().to_vec(),
            structs,
            functions,
            raw_tracepoints,
            enums,
            hz: Some(self.hz()?),
            possible_cpus: Some(self.possible_cpus()?),
            function_probes: Some(self.function_probes()),
            tracepoint_probes: Some(self.tracepoint_probes()),
        })
    }

    fn tracefs(&self) -> Result<&PathBuf, KernelError> {
        cached(&self.tracefs, ensure_tracefs)
    }

    fn kallsyms(&self) -> Result<&Kallsyms, KernelError> {
        cached(&self.kallsyms, Kallsyms::read)
    }

    /// `name`'s symbols without reading the table: the kernel's own lookup where it has one, else a scan. A
    /// name the lookup does not know exactly (only as a clone, or not at all) and a lookup the kernel refuses
    /// go to the scan, which tells clones from absence and hidden addresses from both.
    fn look_up_without_table(&self, name: &str) -> Result<ScannedName, KernelError> {
        let (major, minor) = LOOKUP_HELPER_SINCE;
        if !self.lookup_helper_off && self.version().at_least(major, minor) {
            if let Ok(Some(address)) = symbol_lookup::lookup_name(name) {
                let modules = std::fs::read_to_string(PROC_MODULES).unwrap_or_default();
                return Ok(ScannedName::exact(name, address, symbol_lookup::module_containing(&modules, address)));
            }
        }
        Kallsyms::scan(name)
    }

    fn module_btf(&self, module: &str) -> Result<Arc<Option<Btf>>, KernelError> {
        if let Some(btf) = lock(&self.module_btf).get(module) {
            return Ok(Arc::clone(btf));
        }
        let btf = Arc::new(Btf::module(self.btf()?, module)?);
        lock(&self.module_btf).insert(module.to_string(), Arc::clone(&btf));
        Ok(btf)
    }

    fn detect_function_probes(&self) -> FunctionProbes {
        let fentry = match &self.fentry_off {
            Some(reason) => mechanisms::Availability::Unavailable(reason.clone()),
            None => {
                let btf = self.btf();
                let target = btf.as_ref().ok().and_then(|btf| {
                    FENTRY_TEST_TARGETS.iter().find_map(|function| btf.function_id(function).ok().flatten())
                });
                let btf_error = btf.err().map(|error| error.to_string());
                mechanisms::fentry_availability(self.version(), btf_error, target, crate::sys::fentry_test_load)
            }
        };
        FunctionProbes { fentry, kprobe: mechanisms::kprobe_availability() }
    }

    fn modules(&self) -> &[String] {
        self.modules.get_or_init(|| {
            let text = std::fs::read_to_string(PROC_MODULES).unwrap_or_default();
            let mut names: Vec<String> =
                text.lines().filter_map(|line| line.split_whitespace().next()).map(str::to_string).collect();
            names.sort();
            names
        })
    }
}

/// The value in `cell`, loading it first if needed; a failed load is not cached, so it is retried.
fn cached<T>(cell: &OnceLock<T>, load: impl FnOnce() -> Result<T, KernelError>) -> Result<&T, KernelError> {
    if let Some(value) = cell.get() {
        return Ok(value);
    }
    let value = load()?;
    Ok(cell.get_or_init(|| value))
}

/// Locks one of the caches. Holders only look up or insert whole entries, so a poisoned cache is still
/// consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The running kernel's release string (`uname -r`), empty if procfs does not say.
fn running_release() -> String {
    std::fs::read_to_string(OSRELEASE).map(|text| text.trim().to_string()).unwrap_or_default()
}

impl KernelInfo for LiveKernel {
    fn version(&self) -> &KernelVersion {
        self.version.get_or_init(|| {
            let release = running_release();
            KernelVersion::parse(&release).unwrap_or_else(|| KernelVersion::unknown(&release))
        })
    }

    fn tracepoint(&self, category: &str, name: &str) -> Result<Arc<TracepointFormat>, KernelError> {
        let key = (category.to_string(), name.to_string());
        if let Some(format) = lock(&self.formats).get(&key) {
            return Ok(Arc::clone(format));
        }
        let tracefs = self.tracefs()?;
        let dynamic_events = self.dynamic_events.get_or_init(|| read_dynamic_events(tracefs));
        let format = Arc::new(read_format(tracefs, category, name, dynamic_events)?);
        lock(&self.formats).insert(key, Arc::clone(&format));
        Ok(format)
    }

    fn tracepoints(&self) -> Result<Vec<(String, String)>, KernelError> {
        let tracefs = self.tracefs()?;
        cached(&self.tracepoint_list, || list_tracepoints(tracefs)).cloned()
    }

    fn symbol_addresses(&self, name: &str) -> Result<Vec<u64>, KernelError> {
        // The first name is looked up with a scan that keeps only its symbols (most scripts need one function
        // and symbolize nothing else); another name means more will come, so the table is read and kept.
        if self.kallsyms.get().is_none() {
            let mut scanned = lock(&self.scanned_kallsyms);
            match &*scanned {
                Some(found) if found.name == name => return Ok(found.addresses()),
                Some(_) => {}
                None => {
                    let found = self.look_up_without_table(name)?;
                    let addresses = found.addresses();
                    *scanned = Some(found);
                    return Ok(addresses);
                }
            }
        }
        self.kallsyms()?.addresses(name)
    }

    fn symbolize(&self, addr: u64) -> Option<Symbol> {
        if self.kallsyms.get().is_none() {
            // The start of a function the scan found (a timer's callback) needs no table.
            if let Some(symbol) = lock(&self.scanned_kallsyms).as_ref().and_then(|found| found.symbol_at(addr)) {
                return Some(symbol.clone());
            }
        }
        self.kallsyms().ok()?.symbolize(addr)
    }

    fn module_loaded(&self, name: &str) -> bool {
        self.modules().iter().any(|module| module == name)
    }

    fn struct_member(&self, struct_name: &str, member: &str) -> Result<Option<Member>, KernelError> {
        self.btf()?.struct_member(struct_name, member)
    }

    fn struct_members(&self, struct_name: &str, path: &str) -> Result<Option<Vec<String>>, KernelError> {
        self.btf()?.struct_members(struct_name, path)
    }

    fn struct_size(&self, struct_name: &str) -> Result<Option<u32>, KernelError> {
        self.btf()?.struct_size(struct_name)
    }

    fn struct_align(&self, struct_name: &str) -> Result<Option<u32>, KernelError> {
        self.btf()?.struct_align(struct_name)
    }

    fn record_definition(&self, union: bool, name: &str) -> Result<Option<String>, KernelError> {
        self.btf()?.record_definition(union, name)
    }

    fn module_struct_member(
        &self,
        module: &str,
        struct_name: &str,
        member: &str,
    ) -> Result<Option<Member>, KernelError> {
        match self.module_btf(module)?.as_ref() {
            Some(btf) => btf.struct_member(struct_name, member),
            None => Ok(None),
        }
    }

    fn function_params(&self, name: &str) -> Result<Option<Vec<(String, String)>>, KernelError> {
        self.btf()?.function_params(name)
    }

    fn module_function_params(&self, module: &str, name: &str) -> Result<Option<Vec<(String, String)>>, KernelError> {
        match self.module_btf(module)?.as_ref() {
            Some(btf) => btf.function_params(name),
            None => Ok(None),
        }
    }

    fn raw_tracepoint_params(&self, name: &str) -> Result<Option<Vec<(String, String)>>, KernelError> {
        self.btf()?.raw_tracepoint_params(name)
    }

    fn enum_type(&self, name: &str) -> Result<Option<KernelEnum>, KernelError> {
        self.btf()?.enum_type(name)
    }

    fn enum_with(&self, enumerator: &str) -> Result<Option<KernelEnum>, KernelError> {
        self.btf()?.enum_with(enumerator)
    }

    fn hz(&self) -> Result<u32, KernelError> {
        cached(&self.hz, || super::hz::running_hz(&self.version().release)).copied()
    }

    fn possible_cpus(&self) -> Result<u32, KernelError> {
        let count = aya::util::nr_cpus().map_err(|(path, source)| KernelError::io(path, source))?;
        Ok(count as u32)
    }

    fn function_probes(&self) -> FunctionProbes {
        self.function_probes.get_or_init(|| self.detect_function_probes()).clone()
    }

    fn tracepoint_probes(&self) -> TracepointProbes {
        let btf_present = std::path::Path::new(super::btf::VMLINUX_BTF).exists();
        let probes = mechanisms::tracepoint_availability(self.version(), btf_present);
        match &self.tracepoint_mechanism {
            Some((mechanism, reason)) => probes.using(*mechanism, reason),
            None => probes,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::super::FixtureKernel;
    use super::*;

    /// Whether the live kernel can answer tracepoint and symbol questions here; prints SKIPPED otherwise.
    fn usable(kernel: &LiveKernel, test: &str) -> bool {
        if let Err(error) = kernel.tracefs() {
            eprintln!("SKIPPED {test}: {error}");
            return false;
        }
        match kernel.symbol_addresses("_stext") {
            Err(error) => {
                eprintln!("SKIPPED {test}: {error}");
                false
            }
            Ok(_) => true,
        }
    }

    #[test]
    fn reads_tracepoints_and_symbols() {
        let kernel = LiveKernel::new();
        if !usable(&kernel, "reads_tracepoints_and_symbols") {
            return;
        }
        let started = Instant::now();
        let format = kernel.tracepoint("sched", "sched_switch").unwrap();
        let format_time = started.elapsed();
        assert_eq!(format.field("next_comm").unwrap().array_len, Some(16));
        assert!(Arc::ptr_eq(&format, &kernel.tracepoint("sched", "sched_switch").unwrap()), "cached");
        assert!(matches!(kernel.tracepoint("sched", "no_such_event"), Err(KernelError::TracepointNotFound { .. })));
        let started = Instant::now();
        let all = kernel.tracepoints().unwrap();
        let list_time = started.elapsed();
        assert!(all.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(all.contains(&("irq".to_string(), "softirq_entry".to_string())));

        let address = kernel.symbol_addresses("run_timer_softirq").unwrap()[0];
        let symbol = kernel.symbolize(address + 1).unwrap();
        assert_eq!((symbol.name.as_str(), symbol.offset), ("run_timer_softirq", 1));
        eprintln!("tracefs: one format {format_time:?}, list of {} tracepoints {list_time:?}", all.len());
    }

    #[test]
    fn the_scanned_name_symbolizes_without_the_table() {
        let kernel = LiveKernel::new();
        if !usable(&kernel, "the_scanned_name_symbolizes_without_the_table") {
            return;
        }
        let kernel = LiveKernel::new();
        let addresses = kernel.symbol_addresses("run_timer_softirq").unwrap();
        assert_eq!(kernel.symbol_addresses("run_timer_softirq").unwrap(), addresses, "asked again");
        let symbol = kernel.symbolize(addresses[0]).unwrap();
        assert_eq!((symbol.name.as_str(), symbol.offset, symbol.module), ("run_timer_softirq", 0, None));
        assert!(kernel.kallsyms.get().is_none(), "one name and its own addresses need no table");
        assert_eq!(kernel.symbolize(addresses[0] + 1).unwrap().offset, 1);
        assert!(kernel.kallsyms.get().is_some(), "any other address reads the table");
    }

    /// Finds `name` through a fresh handle, with or without the kernel's own lookup; the time it took.
    fn addresses_without_table(name: &str, helper: bool) -> (Vec<u64>, Option<Symbol>, std::time::Duration) {
        let kernel = LiveKernel { lookup_helper_off: !helper, ..LiveKernel::new() };
        let started = Instant::now();
        let addresses = kernel.symbol_addresses(name).unwrap();
        let took = started.elapsed();
        let symbol = addresses.first().and_then(|address| kernel.symbolize(*address));
        assert!(kernel.kallsyms.get().is_none(), "{name}: one name and its own address need no table");
        (addresses, symbol, took)
    }

    #[test]
    fn the_kernels_lookup_finds_what_the_scan_finds() {
        let kernel = LiveKernel::new();
        if !usable(&kernel, "the_kernels_lookup_finds_what_the_scan_finds") {
            return;
        }
        let (major, minor) = LOOKUP_HELPER_SINCE;
        let helper = kernel.version().at_least(major, minor);
        if helper {
            let found = symbol_lookup::lookup_name("run_timer_softirq").unwrap();
            assert_eq!(found, Some(kernel.symbol_addresses("run_timer_softirq").unwrap()[0]), "the helper works here");
            assert_eq!(symbol_lookup::lookup_name("no_such_symbol_anywhere").unwrap(), None);
        }
        let table = kernel.kallsyms().unwrap();
        // A static name defined more than once, if this kernel has one: the kernel's lookup finds one of them.
        let repeated = ["untimeout", "timeout_show", "__list_add"]
            .into_iter()
            .find(|name| table.addresses(name).is_ok_and(|found| found.len() > 1));
        for name in ["run_timer_softirq", "delayed_work_timer_fn", "__netif_receive_skb_core", "no_such_symbol_x"] {
            let (scanned, scanned_symbol, scan_time) = addresses_without_table(name, false);
            let (looked_up, symbol, lookup_time) = addresses_without_table(name, true);
            assert_eq!(looked_up, scanned, "{name}");
            assert_eq!(symbol, scanned_symbol, "{name}");
            eprintln!("{name}: scan {scan_time:?}, kernel lookup (or scan after it) {lookup_time:?}");
        }
        if let (Some(name), true) = (repeated, helper) {
            let (looked_up, symbol, _) = addresses_without_table(name, true);
            let all = table.addresses(name).unwrap();
            assert!(looked_up.len() == 1 && all.contains(&looked_up[0]), "{name}: {looked_up:x?} of {all:x?}");
            assert_eq!(symbol.map(|symbol| symbol.name), Some(name.to_string()));
        }
    }

    #[test]
    fn knows_the_version_and_modules() {
        let kernel = LiveKernel::new();
        assert!(kernel.version().major >= 3, "release {}", kernel.version().release);
        assert!(!kernel.module_loaded("no_such_module_anywhere"));
    }

    /// Every answer the bundled fixture gives must be what this kernel gives, when this is the fixture's host.
    #[test]
    fn agrees_with_the_bundled_fixture_on_its_host() {
        let kernel = LiveKernel::new();
        let fixture = FixtureKernel::bundled();
        if kernel.version() != fixture.version() {
            eprintln!("SKIPPED agrees_with_the_bundled_fixture_on_its_host: not the fixture's kernel");
            return;
        }
        if !usable(&kernel, "agrees_with_the_bundled_fixture_on_its_host") {
            return;
        }
        let snapshot: KernelSnapshot = serde_json::from_str(include_str!("../../fixtures/kernel-6.18.json")).unwrap();
        for format in &snapshot.tracepoints {
            assert_eq!(*kernel.tracepoint(&format.category, &format.name).unwrap(), *format);
        }
        for symbol in &snapshot.symbols {
            let wanted = symbol.name.split('.').next().unwrap_or(&symbol.name);
            assert_eq!(kernel.symbol_addresses(wanted).unwrap(), fixture.symbol_addresses(wanted).unwrap());
            let inside = symbol.address + symbol.size / 2;
            assert_eq!(kernel.symbolize(inside), fixture.symbolize(inside), "{}", symbol.name);
        }
        for (struct_name, members) in &snapshot.structs {
            for member in members.keys() {
                assert_eq!(
                    kernel.struct_member(struct_name, member).unwrap(),
                    fixture.struct_member(struct_name, member).unwrap()
                );
            }
        }
        for name in snapshot.functions.keys() {
            assert_eq!(kernel.function_params(name).unwrap(), fixture.function_params(name).unwrap());
        }
        for name in snapshot.raw_tracepoints.keys() {
            assert_eq!(kernel.raw_tracepoint_params(name).unwrap(), fixture.raw_tracepoint_params(name).unwrap());
        }
        for found in &snapshot.enums {
            let first = &found.enumerators[0].1;
            assert_eq!(kernel.enum_with(first).unwrap(), fixture.enum_with(first).unwrap());
            assert_eq!(kernel.enum_type(&found.name).unwrap(), fixture.enum_type(&found.name).unwrap());
        }
        assert_eq!(kernel.function_probes(), fixture.function_probes());
        assert_eq!(kernel.struct_member("sk_buff", "nope").unwrap(), None);
        assert_eq!(kernel.symbol_addresses("no_such_symbol_x").unwrap(), Vec::<u64>::new());
    }
}
