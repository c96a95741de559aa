//! User-space symbols: the return addresses of a process's stack (`ustack`) turned into `function+offset`
//! through `/proc/PID/maps` and the symbol tables of the ELF files mapped there.
//!
//! Each process's mappings are read once (again when an address falls outside them, as after a `dlopen`), and
//! each file's symbols once per device and inode, whichever process maps it. A process that has exited
//! before its addresses are printed can no longer be resolved: its frames print as addresses with a note.
//! C++ and Rust names are demangled (`foo::bar(int)`, `mycrate::main`), as `c++filt` and `rustfilt` print them.
//!
//! [`Binary`] goes the other way for uprobes: from a binary's and a function's names to a file offset, and
//! lists the binary's USDT probe sites.

mod binary;
mod demangle;
mod elf;
mod maps;
mod stapsdt;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use binary::{Binary, BinaryError, Function};
pub use stapsdt::UsdtNote;

use demangle::demangle;
use elf::{Found, SymbolTable};
use maps::Mapping;

/// Processes whose mappings are kept; past this many the cache starts over (processes come and go, files stay).
const MAX_PROCESSES: usize = 4096;

/// What one address of a process's stack is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserFrame {
    /// Code of a function in a symbol table.
    Function {
        /// The symbol's name.
        name: String,
        /// Bytes from the function's start.
        offset: u64,
    },
    /// Code in a mapped file (or `[vdso]`) that no symbol covers, or whose symbols cannot be read.
    Unknown {
        /// The file's path in the process's mount namespace, or the pseudo-file's name.
        path: String,
        /// The address in the file: its virtual address when known, else the file offset.
        address: u64,
    },
    /// Memory that maps no file (code generated at run time, by a JIT for example).
    Anonymous,
    /// The process's mappings cannot be read, because it has exited (`note` says so) or another reason.
    Unreadable {
        /// Why: `exited`, or the error.
        note: String,
    },
}

/// Resolves user-space addresses of live processes, caching what it reads; shareable between threads.
#[derive(Debug, Default)]
pub struct UserSymbols {
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    /// Each process's mappings, or why they cannot be read.
    processes: HashMap<u32, Result<Arc<Vec<Mapping>>, String>>,
    /// Each file's symbols by device and inode (`None`: unreadable, or not ELF).
    files: HashMap<(String, u64), Option<Arc<SymbolTable>>>,
}

impl UserSymbols {
    /// An empty cache.
    pub fn new() -> UserSymbols {
        UserSymbols::default()
    }

    /// What `address` is in process `pid` (a tgid, as `/proc` names processes).
    pub fn resolve(&self, pid: u32, address: u64) -> UserFrame {
        // A panic while the lock was held leaves a cache that is still consistent: keep using it.
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mappings = match cache.mappings(pid, address) {
            Ok(mappings) => mappings,
            Err(note) => return UserFrame::Unreadable { note },
        };
        let Some(mapping) = maps::find(&mappings, address).filter(|mapping| !mapping.path.is_empty()) else {
            return UserFrame::Anonymous;
        };
        let file_offset = mapping.file_offset(address);
        let table = if mapping.is_file() { cache.symbols(pid, mapping) } else { None };
        match table.as_deref().map(|table| table.lookup(file_offset)) {
            Some(Found::Function(name, offset)) => UserFrame::Function { name: demangle(name).into_owned(), offset },
            Some(Found::Address(address)) => UserFrame::Unknown { path: mapping.path.clone(), address },
            None => UserFrame::Unknown { path: mapping.path.clone(), address: file_offset },
        }
    }

    /// The name of the function holding `address` in process `pid` (`main`), or the address in hex when no
    /// function does or the process's mappings cannot be read: what bpftrace's `usym()` prints.
    pub fn function_name(&self, pid: u32, address: u64) -> String {
        match self.resolve(pid, address) {
            UserFrame::Function { name, .. } => name,
            _ => format!("0x{address:x}"),
        }
    }

    /// The text of `address` in process `pid`: `function+offset` (`function` at offset 0), `[unknown]
    /// (FILE+0xADDRESS)`, the bare address for anonymous memory, and the address with a note (`0x7f12 (pid 42
    /// exited)`) when the process's mappings cannot be read.
    pub fn describe(&self, pid: u32, address: u64) -> String {
        match self.resolve(pid, address) {
            UserFrame::Function { name, offset: 0 } => name,
            UserFrame::Function { name, offset } => format!("{name}+{offset}"),
            UserFrame::Unknown { path, address } => format!("[unknown] ({path}+0x{address:x})"),
            UserFrame::Anonymous => format!("0x{address:x}"),
            UserFrame::Unreadable { note } => format!("0x{address:x} (pid {pid} {note})"),
        }
    }
}

impl Cache {
    /// The mappings of `pid`, read again when `address` is in none of those cached (a library loaded since).
    fn mappings(&mut self, pid: u32, address: u64) -> Result<Arc<Vec<Mapping>>, String> {
        let stale = match self.processes.get(&pid) {
            Some(Ok(mappings)) => maps::find(mappings, address).is_none(),
            Some(Err(_)) => false,
            None => true,
        };
        if stale {
            if self.processes.len() >= MAX_PROCESSES {
                self.processes.clear();
            }
            self.processes.insert(pid, read_mappings(pid).map(Arc::new));
        }
        self.processes.get(&pid).cloned().unwrap_or_else(|| Err("exited".into()))
    }

    /// The symbols of the file `mapping` maps, read through the process (so files of other mount namespaces
    /// and deleted files are found too).
    fn symbols(&mut self, pid: u32, mapping: &Mapping) -> Option<Arc<SymbolTable>> {
        self.files
            .entry(mapping.file.clone())
            .or_insert_with(|| {
                let through_map = format!("/proc/{pid}/map_files/{:x}-{:x}", mapping.start, mapping.end);
                let through_root = format!("/proc/{pid}/root{}", mapping.path);
                let data = std::fs::read(through_map).or_else(|_| std::fs::read(through_root)).ok()?;
                SymbolTable::parse(&data).ok().map(Arc::new)
            })
            .clone()
    }
}

/// The file mappings of `pid`, or why they cannot be read (`exited` when the process is gone or a zombie).
fn read_mappings(pid: u32) -> Result<Vec<Mapping>, String> {
    match std::fs::read_to_string(format!("/proc/{pid}/maps")) {
        Ok(text) if text.is_empty() => Err("exited".into()),
        Ok(text) => Ok(maps::parse_maps(&text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err("exited".into()),
        Err(error) => Err(format!("maps unreadable: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    #[no_mangle]
    extern "C" fn jl_usym_test_marker(x: u64) -> u64 {
        std::hint::black_box(x).wrapping_mul(3)
    }

    #[test]
    fn resolves_a_function_of_this_process() {
        let address = jl_usym_test_marker as *const () as u64;
        let symbols = UserSymbols::new();
        assert_eq!(symbols.describe(std::process::id(), address), "jl_usym_test_marker");
        let inside = symbols.resolve(std::process::id(), address + 1);
        assert_eq!(inside, UserFrame::Function { name: "jl_usym_test_marker".into(), offset: 1 });
        assert_eq!(symbols.function_name(std::process::id(), address + 1), "jl_usym_test_marker");
        assert_eq!(symbols.function_name(std::process::id(), 1), "0x1", "no mapping holds it");
        assert_eq!(jl_usym_test_marker(2), 6);
    }

    /// Exported under a fixed Rust-mangled (legacy) name, so that the symbol table holds that name whichever
    /// mangling scheme rustc uses for ordinary functions.
    #[inline(never)]
    #[export_name = "_ZN9jitterlib4usym5tests14mangled_marker17h0123456789abcdefE"]
    extern "C" fn mangled_marker(x: u64) -> u64 {
        std::hint::black_box(x).wrapping_add(5)
    }

    #[test]
    fn rust_functions_of_this_process_print_demangled() {
        let address = mangled_marker as *const () as u64;
        let name = UserSymbols::new().describe(std::process::id(), address);
        assert_eq!(name, "jitterlib::usym::tests::mangled_marker");
        assert_eq!(mangled_marker(1), 6);
    }

    #[test]
    fn exited_processes_keep_their_addresses_with_a_note() {
        let mut child = std::process::Command::new("true").spawn().expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait");
        let symbols = UserSymbols::new();
        assert_eq!(symbols.describe(pid, 0x7f00_0000_1234), format!("0x7f0000001234 (pid {pid} exited)"));
    }

    static DATA: [u8; 64] = [7; 64];

    #[test]
    fn data_of_a_file_is_unknown_with_its_path() {
        let address = std::hint::black_box(&DATA) as *const [u8; 64] as u64;
        let symbols = UserSymbols::new();
        let exe = std::fs::read_link("/proc/self/exe").expect("exe");
        match symbols.resolve(std::process::id(), address) {
            UserFrame::Unknown { path, .. } => assert_eq!(std::path::Path::new(&path), exe),
            other => panic!("not an unknown frame in {}: {other:?}", exe.display()),
        }
        assert!(symbols.describe(std::process::id(), address).starts_with("[unknown] (/"));
    }
}
