//! [`FixtureKernel`]: kernel metadata answered from a JSON snapshot of a real kernel, for tests and for
//! compiling without privileges.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::kallsyms::is_symbol_named;
use super::{KernelError, KernelInfo, KernelVersion, Member, Symbol, TracepointFormat};

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
    /// `(struct name, member names)` whose layouts are included (absent ones are left out).
    pub structs: Vec<(String, Vec<String>)>,
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
}

impl FixtureKernel {
    /// Loads a fixture from the JSON text of a [`KernelSnapshot`].
    pub fn from_json(text: &str) -> Result<FixtureKernel, KernelError> {
        let snapshot: KernelSnapshot = serde_json::from_str(text).map_err(|source| KernelError::Fixture { source })?;
        Ok(FixtureKernel::from_snapshot(snapshot))
    }

    /// Serves the metadata of `snapshot`.
    pub fn from_snapshot(snapshot: KernelSnapshot) -> FixtureKernel {
        let version = KernelVersion::parse(&snapshot.release).unwrap_or_else(|| KernelVersion::unknown(&snapshot.release));
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
        }
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
            .ok_or_else(|| KernelError::TracepointNotFound {
                category: category.to_string(),
                name: name.to_string(),
            })
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
}
