//! The function symbols of an ELF file (`.symtab`, else what `.dynsym` exports) and its loadable segments,
//! to turn a file offset into `symbol+offset` (`ustack`) and a function's name into its file offset (uprobes).

use object::{Object, ObjectSegment, ObjectSymbol, SymbolFlags, SymbolKind};

/// `STT_GNU_IFUNC`: a symbol whose code is a resolver returning the implementation to call.
const STT_GNU_IFUNC: u8 = 10;

/// A function symbol: where it starts in the file's virtual addresses, its size and name, and whether it is an
/// indirect function (IFUNC).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Function {
    address: u64,
    size: u64,
    name: String,
    indirect: bool,
}

/// What an ELF file says about its code.
#[derive(Debug, Default)]
pub(crate) struct SymbolTable {
    /// Sized function symbols by address; of aliases at one address, the shortest name.
    functions: Vec<Function>,
    /// Every function symbol (aliases too), sorted by name.
    names: Vec<Function>,
    /// Data symbols (`STT_OBJECT`, the program's variables): name, virtual address and size, sorted by name.
    variables: Vec<(String, u64, u64)>,
    /// Whether the file is position-independent (`ET_DYN`: a PIE or a library), loaded at an address chosen at
    /// run time, rather than at its virtual addresses (`ET_EXEC`).
    relocatable: bool,
    /// Loadable segments: file offset, size in the file, virtual address.
    segments: Vec<(u64, u64, u64)>,
    /// Whether the file has no `.symtab`: only the functions `.dynsym` exports are known.
    stripped: bool,
}

/// A symbol found for a file offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Found<'a> {
    /// In a function: its name and the bytes from its start.
    Function(&'a str, u64),
    /// In no function: the virtual address in the file (what `addr2line -e FILE` takes).
    Address(u64),
}

impl SymbolTable {
    /// Reads the symbols and segments of an ELF file's bytes.
    pub(crate) fn parse(data: &[u8]) -> Result<SymbolTable, object::Error> {
        let file = object::File::parse(data)?;
        let mut functions: Vec<Function> = file
            .symbols()
            .chain(file.dynamic_symbols())
            .filter(|symbol| symbol.kind() == SymbolKind::Text && symbol.size() > 0)
            .filter_map(|symbol| {
                let name = symbol.name().ok().filter(|name| !name.is_empty())?;
                let indirect =
                    matches!(symbol.flags(), SymbolFlags::Elf { st_info, .. } if st_info & 0xf == STT_GNU_IFUNC);
                // `is_definition` leaves out indirect functions: a defined one has a section.
                let defined = symbol.is_definition() || (indirect && symbol.section_index().is_some());
                let (address, size) = (symbol.address(), symbol.size());
                defined.then(|| Function { address, size, name: name.to_string(), indirect })
            })
            .collect();
        let mut names = functions.clone();
        names.sort_by(|a, b| (&a.name, a.address).cmp(&(&b.name, b.address)));
        names.dedup_by(|a, b| a.name == b.name);
        functions.sort_by(|a, b| (a.address, a.name.len(), &a.name).cmp(&(b.address, b.name.len(), &b.name)));
        functions.dedup_by_key(|function| function.address);
        let segments = file
            .segments()
            .map(|segment| {
                let (offset, size) = segment.file_range();
                (offset, size, segment.address())
            })
            .collect();
        let stripped = file.section_by_name(".symtab").is_none();
        let mut variables: Vec<(String, u64, u64)> = file
            .symbols()
            .chain(file.dynamic_symbols())
            .filter(|symbol| symbol.kind() == SymbolKind::Data && symbol.is_definition())
            .filter_map(|symbol| {
                Some((symbol.name().ok().filter(|name| !name.is_empty())?.to_string(), symbol.address(), symbol.size()))
            })
            .collect();
        variables.sort();
        variables.dedup_by(|a, b| a.0 == b.0);
        let relocatable = file.kind() == object::ObjectKind::Dynamic;
        Ok(SymbolTable { functions, names, variables, relocatable, segments, stripped })
    }

    /// The virtual address and size of the function `name`, and whether it is an indirect function (IFUNC).
    pub(crate) fn function_address(&self, name: &str) -> Option<(u64, u64, bool)> {
        let at = self.names.binary_search_by(|known| known.name.as_str().cmp(name)).ok()?;
        let function = &self.names[at];
        Some((function.address, function.size, function.indirect))
    }

    /// The virtual address and size of the variable (data symbol) or else the function `name`.
    pub(crate) fn symbol_address(&self, name: &str) -> Option<(u64, u64)> {
        match self.variables.binary_search_by(|(known, _, _)| known.as_str().cmp(name)) {
            Ok(at) => Some((self.variables[at].1, self.variables[at].2)),
            Err(_) => self.function_address(name).map(|(address, size, _)| (address, size)),
        }
    }

    /// Whether the file is loaded at an address chosen at run time (a PIE or a library).
    pub(crate) fn is_relocatable(&self) -> bool {
        self.relocatable
    }

    /// Every function's name but the indirect ones', sorted.
    pub(crate) fn function_names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().filter(|function| !function.indirect).map(|function| function.name.as_str())
    }

    /// Whether only exported functions are known (the file has no `.symtab`).
    pub(crate) fn is_stripped(&self) -> bool {
        self.stripped
    }

    /// The file offset of the virtual address `address`, when a loadable segment holds it.
    pub(crate) fn file_offset(&self, address: u64) -> Option<u64> {
        self.segments
            .iter()
            .find(|(_, size, start)| (*start..start + size).contains(&address))
            .map(|(offset, _, start)| address - start + offset)
    }

    /// The function holding the code at `file_offset`, or its virtual address when no function does (or the
    /// file offset itself when no loadable segment covers it).
    pub(crate) fn lookup(&self, file_offset: u64) -> Found<'_> {
        let Some(address) = self.virtual_address(file_offset) else { return Found::Address(file_offset) };
        let after = self.functions.partition_point(|function| function.address <= address);
        match self.functions[..after].last() {
            Some(function) if address < function.address + function.size => {
                Found::Function(&function.name, address - function.address)
            }
            _ => Found::Address(address),
        }
    }

    /// The virtual address of `file_offset`, when a loadable segment holds it.
    pub(crate) fn virtual_address(&self, file_offset: u64) -> Option<u64> {
        self.segments
            .iter()
            .find(|(offset, size, _)| (*offset..offset + size).contains(&file_offset))
            .map(|(offset, _, address)| file_offset - offset + address)
    }
}
