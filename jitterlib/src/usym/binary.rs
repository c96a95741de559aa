//! The binaries and libraries uprobes name: finding the file (`/bin/bash`; `bash` on `PATH`; `libc` in the
//! directories the dynamic linker searches, as bpftrace finds them) and the file offset of a function or
//! virtual address in it.

use std::path::{Path, PathBuf};

use super::elf::{Found, SymbolTable};
use super::stapsdt::{usdt_notes, UsdtNote};

/// Where the dynamic linker's configuration lists library directories (`include` lines are followed).
const LD_SO_CONF: &str = "/etc/ld.so.conf";

/// Directories the dynamic linker always searches, after those of its configuration.
const DEFAULT_LIBRARY_DIRS: [&str; 4] = ["/lib", "/usr/lib", "/lib64", "/usr/lib64"];

/// An ELF file whose functions uprobes can attach to.
#[derive(Debug)]
pub struct Binary {
    path: PathBuf,
    table: SymbolTable,
    usdt: Vec<UsdtNote>,
    x86_64: bool,
}

/// A function symbol of a [`Binary`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    /// Ordinary code, at this file offset.
    Direct {
        /// Its file offset.
        offset: u64,
        /// Its size in bytes.
        size: u64,
    },
    /// An indirect function (`STT_GNU_IFUNC`, as glibc's `strlen`): the code at this file offset is a resolver
    /// the dynamic linker runs once to pick the implementation (`__strlen_avx2`) that calls then go to.
    Indirect {
        /// The resolver's file offset.
        offset: u64,
    },
}

/// Why a binary cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BinaryError {
    /// No file has that path, or no executable or library that name.
    #[error("no file `{name}`{}", if *.searched { " on PATH or in the library directories" } else { "" })]
    NotFound {
        /// The name as written.
        name: String,
        /// Whether the name was looked up (a bare name) rather than taken as a path.
        searched: bool,
    },
    /// The file exists but cannot be read as ELF.
    #[error("`{}` is not an ELF file: {reason}", path.display())]
    NotElf {
        /// The file.
        path: PathBuf,
        /// What reading it said.
        reason: String,
    },
}

impl Binary {
    /// Finds and reads the binary `name`: a path when it holds a `/`, else an executable on `PATH`, else a
    /// library whose file name is `name`, or starts with `name.so` or `name-` (`libc` finds `libc.so.6`).
    ///
    /// ```no_run
    /// use jitterlib::usym::Binary;
    ///
    /// let libc = Binary::open("libc")?;
    /// println!("{} {:?}", libc.path().display(), libc.function("malloc"));
    /// # Ok::<(), jitterlib::usym::BinaryError>(())
    /// ```
    pub fn open(name: &str) -> Result<Binary, BinaryError> {
        if name.contains('/') {
            return Binary::read(Path::new(name))
                .ok_or(BinaryError::NotFound { name: name.into(), searched: false })?;
        }
        let mut first_error = None;
        for path in candidates(name) {
            match Binary::read(&path) {
                Some(Ok(binary)) => return Ok(binary),
                Some(Err(error)) => {
                    first_error.get_or_insert(error);
                }
                None => {}
            }
        }
        Err(first_error.unwrap_or(BinaryError::NotFound { name: name.into(), searched: true }))
    }

    /// The file at `path`: `None` when there is none.
    fn read(path: &Path) -> Option<Result<Binary, BinaryError>> {
        let data = std::fs::read(path).ok()?;
        let path = path.to_path_buf();
        let parsed = SymbolTable::parse(&data)
            .map_err(|error| error.to_string())
            .and_then(|table| Ok((table, usdt_notes(&data)?)));
        Some(match parsed {
            Ok((table, usdt)) => {
                let x86_64 = object::File::parse(&*data)
                    .is_ok_and(|file| object::Object::architecture(&file) == object::Architecture::X86_64);
                Ok(Binary { path, table, usdt, x86_64 })
            }
            Err(reason) => Err(BinaryError::NotElf { path, reason }),
        })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the function `name` is (the file offset the kernel's uprobe takes), if the file has that symbol.
    pub fn function(&self, name: &str) -> Option<Function> {
        let (address, size, indirect) = self.table.function_address(name)?;
        let offset = self.table.file_offset(address)?;
        Some(if indirect { Function::Indirect { offset } } else { Function::Direct { offset, size } })
    }

    /// The file offset of the virtual address `address` (as `objdump -d` prints it), if a loadable segment
    /// holds it.
    pub fn address_offset(&self, address: u64) -> Option<u64> {
        self.table.file_offset(address)
    }

    /// The virtual address and size of the symbol `name`: a variable (`STT_OBJECT`), else a function. In a
    /// position-independent file ([`Binary::is_relocatable`]) the address is relative to where it is loaded.
    pub fn symbol(&self, name: &str) -> Option<(u64, u64)> {
        self.table.symbol_address(name)
    }

    /// The virtual address of `file_offset`, if a loadable segment holds it.
    pub fn virtual_address(&self, file_offset: u64) -> Option<u64> {
        self.table.virtual_address(file_offset)
    }

    /// Whether the file is loaded at an address chosen at run time (`ET_DYN`: a PIE or a library), so that its
    /// virtual addresses are relative to that address.
    pub fn is_relocatable(&self) -> bool {
        self.table.is_relocatable()
    }

    /// The function holding the code at `file_offset` and the bytes from its start, if one does.
    pub fn function_at(&self, file_offset: u64) -> Option<(&str, u64)> {
        match self.table.lookup(file_offset) {
            Found::Function(name, within) => Some((name, within)),
            Found::Address(_) => None,
        }
    }

    /// Every function's name, sorted, but for indirect functions (their resolvers run once, at load time).
    pub fn functions(&self) -> impl Iterator<Item = &str> {
        self.table.function_names()
    }

    /// The sites of the file's USDT probes (its `stapsdt` notes), in the file's order.
    pub fn usdt_notes(&self) -> &[UsdtNote] {
        &self.usdt
    }

    /// Whether the file holds x86-64 code (the only architecture whose USDT argument operands jl reads).
    pub fn is_x86_64(&self) -> bool {
        self.x86_64
    }

    /// Whether the file has no full symbol table (`strip`ped): only the functions it exports are known.
    pub fn is_stripped(&self) -> bool {
        self.table.is_stripped()
    }
}

/// The files a bare `name` may stand for, in the order they are tried: executables on `PATH`, then libraries.
fn candidates(name: &str) -> Vec<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut found: Vec<PathBuf> =
        std::env::split_paths(&path).map(|dir| dir.join(name)).filter(|p| p.is_file()).collect();
    for dir in library_dirs() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut libraries: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok())
            .filter(|entry| library_matches(name, &entry.file_name().to_string_lossy()))
            .map(|entry| entry.path())
            .collect();
        // `libc.so.6` before `libc.so` (a linker script where development files are installed).
        libraries.sort_by_key(|path| std::cmp::Reverse(path.as_os_str().len()));
        found.extend(libraries);
    }
    found
}

/// Whether a library's file name is what `name` means: itself, or `name` followed by `.so` or `-`.
fn library_matches(name: &str, file_name: &str) -> bool {
    file_name.strip_prefix(name).is_some_and(|rest| rest.is_empty() || rest.starts_with(".so") || rest.starts_with('-'))
}

/// The directories of the dynamic linker's configuration, then its defaults.
fn library_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    conf_dirs(Path::new(LD_SO_CONF), &mut dirs, 0);
    dirs.extend(DEFAULT_LIBRARY_DIRS.iter().map(PathBuf::from));
    dirs
}

/// Adds the directories `conf` lists, following its `include GLOB` lines (a few levels deep at most).
fn conf_dirs(conf: &Path, dirs: &mut Vec<PathBuf>, depth: u32) {
    let Ok(text) = std::fs::read_to_string(conf) else { return };
    for line in text.lines().map(|line| line.split('#').next().unwrap_or("").trim()) {
        if let Some(pattern) = line.strip_prefix("include") {
            if depth < 4 {
                for included in glob_files(pattern.trim()) {
                    conf_dirs(&included, dirs, depth + 1);
                }
            }
        } else if line.starts_with('/') {
            dirs.push(PathBuf::from(line));
        }
    }
}

/// The files matching a `DIR/PATTERN` glob whose directory part has no wildcard, sorted.
fn glob_files(pattern: &str) -> Vec<PathBuf> {
    let pattern = Path::new(pattern);
    let (Some(dir), Some(file)) = (pattern.parent(), pattern.file_name()) else { return Vec::new() };
    let file = file.to_string_lossy();
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| crate::glob::glob(&file, &entry.file_name().to_string_lossy()))
        .map(|entry| entry.path())
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_names_match_like_the_dynamic_linker_cache() {
        assert!(library_matches("libc", "libc.so.6"));
        assert!(library_matches("libc", "libc-2.31.so"));
        assert!(library_matches("libc.so.6", "libc.so.6"));
        assert!(!library_matches("libc", "libcrypt.so.1"));
        assert!(!library_matches("libc", "libc_malloc_debug.so.0"));
    }

    #[test]
    fn finds_this_test_binary_and_its_functions() {
        let exe = std::fs::read_link("/proc/self/exe").expect("exe");
        let binary = Binary::open(&exe.to_string_lossy()).expect("open");
        assert!(matches!(binary.function("main"), Some(Function::Direct { .. })));
        assert!(binary.functions().any(|name| name == "main"));
        assert!(!binary.is_stripped());
    }

    #[no_mangle]
    static JL_BINARY_TEST_VARIABLE: [u32; 3] = [1, 2, 3];

    #[inline(never)]
    #[no_mangle]
    extern "C" fn jl_binary_test_function(x: u64) -> u64 {
        std::hint::black_box(x) + 1
    }

    #[test]
    fn variables_and_functions_are_found_where_the_process_loaded_them() {
        let exe = std::fs::read_link("/proc/self/exe").expect("exe");
        let binary = Binary::open(&exe.to_string_lossy()).expect("open");
        let (variable, size) = binary.symbol("JL_BINARY_TEST_VARIABLE").expect("the variable");
        assert_eq!(size, 12);
        let (function, _) = binary.symbol("jl_binary_test_function").expect("the function");
        let Some(Function::Direct { offset, .. }) = binary.function("jl_binary_test_function") else { panic!() };
        assert_eq!(binary.virtual_address(offset), Some(function));
        // Both moved by the same load bias (zero unless the test binary is position-independent).
        let loaded = JL_BINARY_TEST_VARIABLE.as_ptr() as u64;
        let called = jl_binary_test_function as *const () as u64;
        assert_eq!(loaded.wrapping_sub(variable), called.wrapping_sub(function));
        assert_eq!(binary.is_relocatable(), loaded != variable);
        assert_eq!(jl_binary_test_function(1), 2);
        assert_eq!(binary.symbol("jl_no_such_symbol"), None);
    }

    #[test]
    fn missing_files_and_non_elf_files_are_errors() {
        let error = Binary::open("/nonexistent/jl-binary").unwrap_err();
        assert_eq!(error.to_string(), "no file `/nonexistent/jl-binary`");
        let error = Binary::open("jl-no-such-binary-anywhere").unwrap_err();
        assert_eq!(error.to_string(), "no file `jl-no-such-binary-anywhere` on PATH or in the library directories");
        assert!(matches!(Binary::open("/etc/passwd"), Err(BinaryError::NotElf { .. })));
    }

    #[test]
    fn finds_libc_by_its_short_name() {
        let libc = Binary::open("libc").expect("libc");
        assert!(libc.path().to_string_lossy().contains("libc.so"), "{}", libc.path().display());
        assert!(matches!(libc.function("malloc"), Some(Function::Direct { .. })));
        assert!(matches!(libc.function("strlen"), Some(Function::Indirect { .. })), "glibc's strlen is an IFUNC");
        assert!(!libc.functions().any(|name| name == "strlen"));
    }
}
