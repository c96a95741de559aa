//! [`FixtureKernel`]: kernel metadata answered from a JSON snapshot of a real kernel, for tests and for
//! compiling without privileges.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::kallsyms::is_symbol_named;
use super::{
    Availability, FunctionProbes, KernelEnum, KernelError, KernelInfo, KernelVersion, Member, Symbol, TracepointFormat,
    TracepointProbes,
};

/// The snapshot checked in with the crate, taken from a Linux 6.18 host by
/// `cargo run -p jitterlib --example dump_kernel_fixture > jitterlib/fixtures/kernel-6.18.json`.
const BUNDLED: &str = include_str!("../../fixtures/kernel-6.18.json");

/// What a [`KernelSnapshot`] should contain, chosen by whoever takes it.
#[derive(Clone, Debug, Default)]
pub struct SnapshotSelection {
    /// Categories whose tracepoints are all included (`sched`, `irq`, ...).
    pub tracepoint_categories: Vec<String>,
    /// Single tracepoints `(category, name)` included on top of the whole categories.
    pub tracepoints: Vec<(String, String)>,
    /// Kernel symbols to include: every address of each, compiler clones (`name.constprop.0`) included,
    /// under their real names; absent ones are left out.
    pub symbols: Vec<String>,
    /// `(struct name, member names)` whose layouts are included (absent ones are left out); a member name may
    /// be a path through embedded structs (`nd_net.net`), which also makes its parts listable.
    pub structs: Vec<(String, Vec<String>)>,
    /// Kernel functions whose BTF parameters are included (absent ones are left out).
    pub functions: Vec<String>,
    /// Raw tracepoints whose BTF arguments are included (absent ones are left out).
    pub raw_tracepoints: Vec<String>,
    /// Enums to include, each named by its name or, for an anonymous one, by one of its enumerators (absent
    /// ones are left out).
    pub enums: Vec<String>,
}

/// A serializable excerpt of one kernel's metadata: the content of a fixture file.
///
/// Every list is sorted, so the same kernel always gives the same JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelSnapshot {
    /// The kernel release string (`uname -r`).
    pub release: String,
    /// Tracepoint formats, sorted by category and name.
    pub tracepoints: Vec<TracepointFormat>,
    /// Symbols, sorted by name and address.
    pub symbols: Vec<SnapshotSymbol>,
    /// Loaded modules, sorted.
    pub modules: Vec<String>,
    /// Struct name to member name to layout.
    pub structs: BTreeMap<String, BTreeMap<String, Member>>,
    /// Function name to its BTF parameters `(name, C type)`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<String, Vec<(String, String)>>,
    /// Raw tracepoint name to its BTF arguments `(name, C type)`, context pointer left out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub raw_tracepoints: BTreeMap<String, Vec<(String, String)>>,
    /// Enums, sorted by name, then by their first enumerator.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enums: Vec<KernelEnum>,
    /// The kernel's tick rate (`CONFIG_HZ`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hz: Option<u32>,
    /// How many CPUs the machine can have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub possible_cpus: Option<u32>,
    /// Whether fentry and kprobes worked on the kernel (as root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_probes: Option<FunctionProbes>,
    /// Whether tp_btf and raw tracepoints worked on the kernel; absent: both did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracepoint_probes: Option<TracepointProbes>,
}

/// One kernel symbol of a [`KernelSnapshot`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotSymbol {
    /// Symbol name.
    pub name: String,
    /// Start address.
    pub address: u64,
    /// Bytes up to the next symbol in kallsyms (0 when unknown: then no address symbolizes to it).
    pub size: u64,
    /// Module name, `None` for vmlinux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
}

/// Kernel metadata from a [`KernelSnapshot`].
///
/// Answers exactly like [`super::LiveKernel`] would have on the snapshot's kernel, for what the snapshot
/// holds: tracepoints and struct members outside it are reported as absent.
///
/// # Example
/// ```
/// use jitterlib::kernel::{FixtureKernel, KernelInfo};
/// let kernel = FixtureKernel::bundled();
/// assert!(kernel.version().at_least(6, 2));
/// assert!(kernel.tracepoint("irq", "softirq_entry").is_ok());
/// ```
#[derive(Debug)]
pub struct FixtureKernel {
    version: KernelVersion,
    formats: HashMap<(String, String), Arc<TracepointFormat>>,
    tracepoint_list: Vec<(String, String)>,
    symbols_by_address: Vec<SnapshotSymbol>,
    modules: Vec<String>,
    structs: BTreeMap<String, BTreeMap<String, Member>>,
    functions: BTreeMap<String, Vec<(String, String)>>,
    raw_tracepoints: BTreeMap<String, Vec<(String, String)>>,
    enums: Vec<KernelEnum>,
    hz: Option<u32>,
    possible_cpus: Option<u32>,
    function_probes: FunctionProbes,
    tracepoint_probes: TracepointProbes,
}

impl FixtureKernel {
    /// Loads a fixture from the JSON text of a [`KernelSnapshot`].
    pub fn from_json(text: &str) -> Result<FixtureKernel, KernelError> {
        let snapshot: KernelSnapshot = serde_json::from_str(text).map_err(|source| KernelError::Fixture { source })?;
        Ok(FixtureKernel::from_snapshot(snapshot))
    }

    /// Serves the metadata of `snapshot`.
    pub fn from_snapshot(snapshot: KernelSnapshot) -> FixtureKernel {
        let version =
            KernelVersion::parse(&snapshot.release).unwrap_or_else(|| KernelVersion::unknown(&snapshot.release));
        let mut tracepoint_list = Vec::with_capacity(snapshot.tracepoints.len());
        let mut formats = HashMap::with_capacity(snapshot.tracepoints.len());
        for format in snapshot.tracepoints {
            let key = (format.category.clone(), format.name.clone());
            tracepoint_list.push(key.clone());
            formats.insert(key, Arc::new(format));
        }
        tracepoint_list.sort();
        let mut symbols_by_address = snapshot.symbols;
        symbols_by_address.sort_by(|a, b| (a.address, &a.name).cmp(&(b.address, &b.name)));
        FixtureKernel {
            version,
            formats,
            tracepoint_list,
            symbols_by_address,
            modules: snapshot.modules,
            structs: snapshot.structs,
            functions: snapshot.functions,
            raw_tracepoints: snapshot.raw_tracepoints,
            enums: snapshot.enums,
            hz: snapshot.hz,
            possible_cpus: snapshot.possible_cpus,
            function_probes: snapshot.function_probes.unwrap_or_else(|| {
                let unknown = || Availability::Unavailable("the kernel fixture does not record it".into());
                FunctionProbes { fentry: unknown(), kprobe: unknown() }
            }),
            tracepoint_probes: snapshot.tracepoint_probes.unwrap_or_else(TracepointProbes::all),
        }
    }

    /// The same fixture answering `probes` about fentry and kprobes: code generation for kernels that allow
    /// what the fixture's did not (golden tests of fentry and kprobe points).
    pub fn with_function_probes(mut self, probes: FunctionProbes) -> FixtureKernel {
        self.function_probes = probes;
        self
    }

    /// The same fixture answering `probes` about tp_btf and raw tracepoints: code generation for kernels
    /// that lack them (golden tests of the fallbacks).
    pub fn with_tracepoint_probes(mut self, probes: TracepointProbes) -> FixtureKernel {
        self.tracepoint_probes = probes;
        self
    }

    /// The same fixture presenting itself as kernel `release` (its version and release string), e.g. to compile
    /// for an older kernel than the fixture's. A release that does not parse leaves the version as it was.
    pub fn with_release(mut self, release: &str) -> FixtureKernel {
        if let Some(version) = KernelVersion::parse(release) {
            self.version = version;
        }
        self
    }

    /// The fixture checked in with the crate (`jitterlib/fixtures/kernel-6.18.json`, a Linux 6.18 host).
    pub fn bundled() -> FixtureKernel {
        // The bundled file is tested below; a broken one is a build defect, not a runtime condition.
        FixtureKernel::from_json(BUNDLED).expect("the bundled kernel fixture is valid JSON")
    }
}

impl KernelInfo for FixtureKernel {
    fn version(&self) -> &KernelVersion {
        &self.version
    }

    fn tracepoint(&self, category: &str, name: &str) -> Result<Arc<TracepointFormat>, KernelError> {
        self.formats
            .get(&(category.to_string(), name.to_string()))
            .cloned()
            .ok_or_else(|| KernelError::TracepointNotFound { category: category.to_string(), name: name.to_string() })
    }

    fn tracepoints(&self) -> Result<Vec<(String, String)>, KernelError> {
        Ok(self.tracepoint_list.clone())
    }

    fn symbol_addresses(&self, name: &str) -> Result<Vec<u64>, KernelError> {
        let mut found: Vec<u64> = self
            .symbols_by_address
            .iter()
            .filter(|symbol| is_symbol_named(&symbol.name, name))
            .map(|symbol| symbol.address)
            .collect();
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }

    fn symbolize(&self, addr: u64) -> Option<Symbol> {
        let after = self.symbols_by_address.partition_point(|symbol| symbol.address <= addr);
        let start = self.symbols_by_address.get(after.checked_sub(1)?)?.address;
        let first = self.symbols_by_address.partition_point(|symbol| symbol.address < start);
        let symbol = &self.symbols_by_address[first];
        (addr - symbol.address < symbol.size).then(|| Symbol {
            name: symbol.name.clone(),
            offset: addr - symbol.address,
            module: symbol.module.clone(),
        })
    }

    fn module_loaded(&self, name: &str) -> bool {
        self.modules.iter().any(|module| module == name)
    }

    fn struct_member(&self, struct_name: &str, member: &str) -> Result<Option<Member>, KernelError> {
        Ok(self.structs.get(struct_name).and_then(|members| members.get(member)).cloned())
    }

    fn module_struct_member(
        &self,
        module: &str,
        struct_name: &str,
        member: &str,
    ) -> Result<Option<Member>, KernelError> {
        // The snapshot does not keep modules' structs apart from the kernel's.
        if !self.module_loaded(module) {
            return Ok(None);
        }
        self.struct_member(struct_name, member)
    }

    fn struct_members(&self, struct_name: &str, path: &str) -> Result<Option<Vec<String>>, KernelError> {
        let Some(members) = self.structs.get(struct_name) else {
            return Ok(None);
        };
        let prefix = if path.is_empty() { String::new() } else { format!("{path}.") };
        let mut names: Vec<String> = members
            .keys()
            .filter_map(|key| key.strip_prefix(prefix.as_str()))
            .map(|rest| rest.split('.').next().unwrap_or(rest).to_string())
            .collect();
        names.dedup();
        Ok((path.is_empty() || !names.is_empty()).then_some(names))
    }

    fn struct_size(&self, _struct_name: &str) -> Result<Option<u32>, KernelError> {
        // The snapshot keeps the members jl reads, not whole structs.
        Ok(None)
    }

    fn struct_align(&self, _struct_name: &str) -> Result<Option<u32>, KernelError> {
        Ok(None)
    }

    fn record_definition(&self, _union: bool, _name: &str) -> Result<Option<String>, KernelError> {
        // As for struct_size: no whole structs in the snapshot.
        Ok(None)
    }

    fn function_params(&self, name: &str) -> Result<Option<Vec<(String, String)>>, KernelError> {
        Ok(self.functions.get(name).cloned())
    }

    fn module_function_params(&self, module: &str, name: &str) -> Result<Option<Vec<(String, String)>>, KernelError> {
        // As for structs, the snapshot does not keep modules' functions apart from the kernel's.
        if !self.module_loaded(module) {
            return Ok(None);
        }
        self.function_params(name)
    }

    fn raw_tracepoint_params(&self, name: &str) -> Result<Option<Vec<(String, String)>>, KernelError> {
        Ok(self.raw_tracepoints.get(name).cloned())
    }

    fn enum_type(&self, name: &str) -> Result<Option<KernelEnum>, KernelError> {
        Ok(self.enums.iter().find(|found| !name.is_empty() && found.name == name).cloned())
    }

    fn enum_with(&self, enumerator: &str) -> Result<Option<KernelEnum>, KernelError> {
        let has = |found: &&KernelEnum| found.enumerators.iter().any(|(_, name)| name == enumerator);
        Ok(self.enums.iter().find(has).cloned())
    }

    fn hz(&self) -> Result<u32, KernelError> {
        self.hz.ok_or(KernelError::FixtureWithoutHz)
    }

    fn possible_cpus(&self) -> Result<u32, KernelError> {
        self.possible_cpus.ok_or(KernelError::FixtureWithoutCpus)
    }

    fn function_probes(&self) -> FunctionProbes {
        self.function_probes.clone()
    }

    fn tracepoint_probes(&self) -> TracepointProbes {
        self.tracepoint_probes.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_fixture_is_small_and_deterministic() {
        assert!(BUNDLED.len() < 300 * 1024, "fixture is {} bytes", BUNDLED.len());
        let snapshot: KernelSnapshot = serde_json::from_str(BUNDLED).unwrap();
        let again = serde_json::to_string_pretty(&snapshot).unwrap();
        assert_eq!(again.trim_end(), BUNDLED.trim_end(), "fixture is not in canonical (sorted) form");
        let mut sorted = snapshot.symbols.clone();
        sorted.sort_by(|a, b| (&a.name, a.address).cmp(&(&b.name, b.address)));
        assert_eq!(sorted, snapshot.symbols);
    }

    #[test]
    fn answers_version_and_tracepoints() {
        let kernel = FixtureKernel::bundled();
        assert_eq!((kernel.version().major, kernel.version().minor), (6, 18));
        let format = kernel.tracepoint("timer", "timer_expire_entry").unwrap();
        let function = format.field("function").unwrap();
        assert_eq!((function.offset, function.size, function.c_type.as_str()), (24, 8, "void *"));
        let list = kernel.tracepoints().unwrap();
        assert!(list.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(list.contains(&("syscalls".to_string(), "sys_enter_openat".to_string())));
        assert!(list.contains(&("irq".to_string(), "softirq_exit".to_string())));
        assert!(!list.iter().any(|(category, name)| category == "syscalls" && name == "sys_enter_read"));
    }

    #[test]
    fn reports_missing_tracepoints_like_the_live_kernel() {
        let error = FixtureKernel::bundled().tracepoint("timer", "no_such_event").unwrap_err();
        assert!(matches!(error, KernelError::TracepointNotFound { ref category, ref name }
            if category == "timer" && name == "no_such_event"));
        assert_eq!(error.to_string(), "tracepoint timer:no_such_event not found (list them with `jl -l`)");
    }

    #[test]
    fn answers_symbols() {
        let kernel = FixtureKernel::bundled();
        let addresses = kernel.symbol_addresses("run_timer_softirq").unwrap();
        assert_eq!(addresses.len(), 1);
        let symbol = kernel.symbolize(addresses[0] + 4).unwrap();
        assert_eq!((symbol.name.as_str(), symbol.offset, symbol.module), ("run_timer_softirq", 4, None));
        assert_eq!(kernel.symbol_addresses("__netif_receive_skb_core").unwrap().len(), 1);
        assert!(kernel.symbol_addresses("estimation_timer").unwrap().is_empty());
        assert_eq!(kernel.symbolize(0x1000), None);
        assert!(!kernel.module_loaded("ip_vs"));
    }

    #[test]
    fn answers_struct_members() {
        let kernel = FixtureKernel::bundled();
        let member = |s: &str, m: &str| kernel.struct_member(s, m).unwrap().map(|member| member.offset);
        assert_eq!(member("sk_buff", "len"), Some(112));
        assert_eq!(member("sk_buff", "dev"), Some(16));
        assert_eq!(member("net_device", "name"), Some(280));
        assert_eq!(member("task_struct", "pid"), Some(1264));
        assert_eq!(member("sk_buff", "no_such_member"), None);
        assert_eq!(member("no_such_struct", "len"), None);
        let pkt_type = kernel.struct_member("sk_buff", "pkt_type").unwrap().unwrap();
        assert_eq!(pkt_type.bit_width, Some(3));
    }

    #[test]
    fn answers_function_and_raw_tracepoint_prototypes() {
        let kernel = FixtureKernel::bundled();
        let ip_rcv = kernel.function_params("ip_rcv").unwrap().unwrap();
        assert_eq!(ip_rcv[0], ("skb".to_string(), "struct sk_buff *".to_string()));
        assert_eq!(kernel.function_params("estimation_timer").unwrap(), None);
        let sys_enter = kernel.raw_tracepoint_params("sys_enter").unwrap().unwrap();
        assert_eq!(sys_enter[1], ("id".to_string(), "long int".to_string()));
        assert_eq!(kernel.raw_tracepoint_params("no_such_event").unwrap(), None);
    }

    #[test]
    fn answers_enums_by_name_and_by_enumerator() {
        let kernel = FixtureKernel::bundled();
        let reasons = kernel.enum_type("skb_drop_reason").unwrap().unwrap();
        assert_eq!((reasons.size, reasons.enumerators[2].clone()), (4, (2, "SKB_DROP_REASON_NOT_SPECIFIED".into())));
        assert_eq!(kernel.enum_with("SKB_DROP_REASON_NO_SOCKET").unwrap(), Some(reasons));
        let softirqs = kernel.enum_with("NET_RX_SOFTIRQ").unwrap().unwrap();
        assert_eq!((softirqs.name.as_str(), softirqs.enumerators[3].0), ("", 3));
        assert_eq!(kernel.enum_type("").unwrap(), None, "anonymous enums have no name to ask by");
        assert_eq!(kernel.enum_with("NO_SUCH_ENUMERATOR").unwrap(), None);
    }

    #[test]
    fn rejects_bad_json() {
        assert!(matches!(FixtureKernel::from_json("{"), Err(KernelError::Fixture { .. })));
        assert!(matches!(FixtureKernel::from_json("{\"release\": 1}"), Err(KernelError::Fixture { .. })));
    }
}
