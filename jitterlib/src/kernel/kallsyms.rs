//! `/proc/kallsyms`: symbol addresses by name, and the symbol containing an address.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::{KernelError, SnapshotSymbol};

/// Where the kernel lists its symbols.
pub(crate) const KALLSYMS: &str = "/proc/kallsyms";

/// The kernel symbol an address falls into.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Symbol {
    /// Symbol name, e.g. `run_timer_softirq`.
    pub name: String,
    /// Bytes from the start of the symbol to the address.
    pub offset: u64,
    /// Module the symbol belongs to (`ip_vs` for `[ip_vs]`), `None` for vmlinux.
    pub module: Option<String>,
}

/// The symbols of one name found without the table: by [`Kallsyms::scan`] (each clone with its own name and
/// module) or by the kernel's own lookup ([`ScannedName::exact`]).
#[derive(Debug)]
pub(crate) struct ScannedName {
    /// The name looked up.
    pub name: String,
    /// Its symbols (at offset 0) by address, sorted, one per address.
    symbols: Vec<(u64, Symbol)>,
}

impl ScannedName {
    /// The one symbol the kernel's own lookup found for `name`: at `address`, in `module`.
    pub(crate) fn exact(name: &str, address: u64, module: Option<String>) -> ScannedName {
        let symbol = Symbol { name: name.to_string(), offset: 0, module };
        ScannedName { name: name.to_string(), symbols: vec![(address, symbol)] }
    }

    /// The addresses, sorted.
    pub(crate) fn addresses(&self) -> Vec<u64> {
        self.symbols.iter().map(|(address, _)| *address).collect()
    }

    /// The symbol starting exactly at `address`, if it is one of these.
    pub(crate) fn symbol_at(&self, address: u64) -> Option<&Symbol> {
        let found = self.symbols.binary_search_by_key(&address, |(start, _)| *start).ok()?;
        Some(&self.symbols[found].1)
    }
}

/// One line of kallsyms: its address, its name in [`Kallsyms::names`] and its module, in 24 bytes.
#[derive(Clone, Copy, Debug)]
struct Entry {
    address: u64,
    /// Where the name starts in [`Kallsyms::names`].
    name_at: u32,
    name_len: u16,
    /// 0 for vmlinux, else 1 + the index of the module's name in [`Kallsyms::modules`].
    module: u16,
    is_text: bool,
}

/// `/proc/kallsyms`, kept compact: one 24-byte entry per symbol and the names back to back (about 6 MB for
/// 120 000 symbols, half of the file's own size).
///
/// The file is read line by line, never whole; the address-sorted index that [`Kallsyms::symbolize`] needs is
/// built on its first use only.
#[derive(Debug, Default)]
pub(crate) struct Kallsyms {
    names: String,
    modules: Vec<String>,
    entries: Vec<Entry>,
    hidden: bool,
    by_address: OnceLock<Vec<u32>>,
}

impl Kallsyms {
    /// Reads and parses `/proc/kallsyms` (the kernel takes ~40 ms to generate its ~5 MB on the development host).
    pub(crate) fn read() -> Result<Kallsyms, KernelError> {
        let mut symbols = Kallsyms::default();
        for_each_line(|line| symbols.push_line(line))?;
        Ok(symbols.finish())
    }

    /// The symbols [`Kallsyms::addresses`] finds for one name, straight from `/proc/kallsyms` without keeping
    /// the table: for a program that needs one function and symbolizes at most its addresses, this saves the
    /// table's 6 MB and its parsing.
    pub(crate) fn scan(name: &str) -> Result<ScannedName, KernelError> {
        let (mut found, mut any_line, mut any_address) = (Vec::new(), false, false);
        for_each_line(|line| {
            // Only lines whose name starts with `name` are parsed whole: the name is the third field.
            let mut fields = line.splitn(3, |byte| *byte == b' ');
            let (Some(address), Some(_), Some(rest)) = (fields.next(), fields.next(), fields.next()) else { return };
            any_line = true;
            any_address = any_address || address.iter().any(|digit| *digit != b'0');
            if !rest.starts_with(name.as_bytes()) {
                return;
            }
            let Some(parsed) = parse_line(line.strip_suffix(b"\n").unwrap_or(line)) else { return };
            if is_symbol_named(parsed.name, name) {
                let module = parsed.module.map(str::to_string);
                found.push((parsed.address, Symbol { name: parsed.name.to_string(), offset: 0, module }));
            }
        })?;
        if any_line && !any_address {
            return Err(KernelError::SymbolsHidden);
        }
        found.sort_unstable_by_key(|(address, _)| *address);
        found.dedup_by_key(|(address, _)| *address);
        Ok(ScannedName { name: name.to_string(), symbols: found })
    }

    /// Parses kallsyms text (`ADDRESS TYPE NAME[\t[MODULE]]` per line); malformed lines are skipped.
    #[cfg(test)]
    fn parse(text: &str) -> Kallsyms {
        let mut symbols = Kallsyms::default();
        text.lines().for_each(|line| symbols.push_line(line.as_bytes()));
        symbols.finish()
    }

    fn push_line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let Some(parsed) = parse_line(line) else { return };
        let (Ok(name_at), Ok(name_len)) = (u32::try_from(self.names.len()), u16::try_from(parsed.name.len())) else {
            return;
        };
        let module = match parsed.module {
            None => 0,
            Some(module) => match self.modules.iter().position(|known| known == module) {
                Some(index) => index + 1,
                None => {
                    self.modules.push(module.to_string());
                    self.modules.len()
                }
            },
        };
        let Ok(module) = u16::try_from(module) else { return };
        self.names.push_str(parsed.name);
        self.entries.push(Entry { address: parsed.address, name_at, name_len, module, is_text: parsed.is_text });
    }

    fn finish(mut self) -> Kallsyms {
        self.hidden = !self.entries.is_empty() && self.entries.iter().all(|entry| entry.address == 0);
        self.names.shrink_to_fit();
        self.entries.shrink_to_fit();
        self
    }

    fn name(&self, entry: &Entry) -> &str {
        let start = entry.name_at as usize;
        &self.names[start..start + usize::from(entry.name_len)]
    }

    fn module(&self, entry: &Entry) -> Option<&str> {
        let index = usize::from(entry.module).checked_sub(1)?;
        self.modules.get(index).map(String::as_str)
    }

    /// Every address of `name`, ascending, without duplicates (see [`is_symbol_named`] for which names match).
    ///
    /// A linear scan: it does not need the address-sorted index.
    pub(crate) fn addresses(&self, name: &str) -> Result<Vec<u64>, KernelError> {
        let mut found: Vec<u64> = self.entries_named(name)?.map(|entry| entry.address).collect();
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }

    /// Every kallsyms entry for `name` (see [`is_symbol_named`]) with its real name, extent and module.
    pub(crate) fn matching(&self, name: &str) -> Result<Vec<SnapshotSymbol>, KernelError> {
        Ok(self
            .entries_named(name)?
            .map(|entry| SnapshotSymbol {
                name: self.name(entry).to_string(),
                address: entry.address,
                size: self.end_of(entry.address).map_or(0, |end| end - entry.address),
                module: self.module(entry).map(str::to_string),
            })
            .collect())
    }

    fn entries_named<'a>(&'a self, name: &'a str) -> Result<impl Iterator<Item = &'a Entry> + 'a, KernelError> {
        if self.hidden {
            return Err(KernelError::SymbolsHidden);
        }
        Ok(self.entries.iter().filter(move |entry| is_symbol_named(self.name(entry), name)))
    }

    /// The symbol containing `address`: the nearest one at or below it, provided a higher symbol follows
    /// (so the symbol's end is known). Among aliases at one address, text symbols win, then file order.
    pub(crate) fn symbolize(&self, address: u64) -> Option<Symbol> {
        let (entry, _end) = self.extent_of(address)?;
        Some(Symbol {
            name: self.name(entry).to_string(),
            offset: address - entry.address,
            module: self.module(entry).map(str::to_string),
        })
    }

    /// The address where the symbol starting at `start` ends (the next higher symbol address).
    fn end_of(&self, start: u64) -> Option<u64> {
        self.extent_of(start).map(|(_, end)| end)
    }

    fn extent_of(&self, address: u64) -> Option<(&Entry, u64)> {
        if self.hidden {
            return None;
        }
        let order = self.by_address.get_or_init(|| self.sorted_by_address());
        let at = |position: usize| order.get(position).map(|&index| &self.entries[index as usize]);
        let after = order.partition_point(|&index| self.entries[index as usize].address <= address);
        let end = at(after)?.address;
        let start = at(after.checked_sub(1)?)?.address;
        let first_at_start = order.partition_point(|&index| self.entries[index as usize].address < start);
        Some((at(first_at_start)?, end))
    }

    /// Entry indexes by address; at equal addresses text symbols first, then in file order.
    fn sorted_by_address(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.entries.len() as u32).collect();
        order.sort_by_key(|&index| {
            let entry = &self.entries[index as usize];
            (entry.address, !entry.is_text, index)
        });
        order
    }
}

/// Calls `each` with every line of `/proc/kallsyms` (newline included), reading it line by line, never whole.
fn for_each_line(mut each: impl FnMut(&[u8])) -> Result<(), KernelError> {
    let io_error = |error| KernelError::io(KALLSYMS, error);
    let mut reader = BufReader::with_capacity(1 << 16, File::open(KALLSYMS).map_err(io_error)?);
    let mut line = Vec::with_capacity(256);
    while reader.read_until(b'\n', &mut line).map_err(io_error)? > 0 {
        each(&line);
        line.clear();
    }
    Ok(())
}

/// Whether kallsyms name `real` stands for function `wanted`: the same name, or a compiler clone of it
/// (`__netif_receive_skb_core.constprop.0`, `.isra.0`, `.part.0`), but not its split-off `.cold` tail. No
/// symbol is named by an empty name (every name would start with it).
pub(crate) fn is_symbol_named(real: &str, wanted: &str) -> bool {
    if wanted.is_empty() {
        return false;
    }
    match real.strip_prefix(wanted) {
        Some("") => true,
        Some(suffix) => suffix.starts_with('.') && !suffix.starts_with(".cold"),
        None => false,
    }
}

/// One kallsyms line, split: `ADDRESS TYPE NAME[\tMODULE]`.
struct ParsedLine<'a> {
    address: u64,
    name: &'a str,
    module: Option<&'a str>,
    is_text: bool,
}

/// Splits one line (without its newline); `None` for a malformed one.
fn parse_line(line: &[u8]) -> Option<ParsedLine<'_>> {
    let line = std::str::from_utf8(line).ok()?;
    let (address, rest) = line.split_once(' ')?;
    let address = parse_hex(address.as_bytes())?;
    let (kind, rest) = rest.split_once(' ')?;
    let [kind] = kind.as_bytes() else { return None };
    let (name, module) = match rest.split_once('\t') {
        Some((name, module)) => (name, module.strip_prefix('[').and_then(|module| module.strip_suffix(']'))),
        None => (rest, None),
    };
    (!name.is_empty()).then_some(ParsedLine { address, name, module, is_text: matches!(kind, b'T' | b't') })
}

fn parse_hex(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    digits.iter().try_fold(0u64, |value, &digit| {
        let nibble = (digit as char).to_digit(16)?;
        Some(value << 4 | u64::from(nibble))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
ffffffff81000000 T _stext
ffffffff81000000 t _text
ffffffff81001000 T run_timer_softirq
ffffffff81002000 t helper
ffffffff81003000 t helper
ffffffff81004000 D some_data
ffffffff81005000 t __netif_receive_skb_core.constprop.0
ffffffff81006000 t __netif_receive_skb_core.cold
ffffffff81007000 t __netif_receive_skb_core_x
ffffffffc0001000 t estimation_timer\t[ip_vs]
ffffffffc0002000 t ip_vs_end\t[ip_vs]
garbage line
zz T bad_address
ffffffff81008000 T
";

    #[test]
    fn finds_every_address_of_a_static_symbol() {
        let symbols = Kallsyms::parse(SAMPLE);
        assert_eq!(symbols.addresses("helper").unwrap(), vec![0xffffffff81002000, 0xffffffff81003000]);
        assert_eq!(symbols.addresses("run_timer_softirq").unwrap(), vec![0xffffffff81001000]);
        assert!(symbols.addresses("absent").unwrap().is_empty());
        assert!(symbols.addresses("").unwrap().is_empty(), "an empty name is no symbol's");
    }

    #[test]
    fn finds_compiler_clones_but_not_cold_parts() {
        let symbols = Kallsyms::parse(SAMPLE);
        let found = symbols.matching("__netif_receive_skb_core").unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "__netif_receive_skb_core.constprop.0");
        assert_eq!((found[0].address, found[0].size), (0xffffffff81005000, 0x1000));
        let module = &symbols.matching("estimation_timer").unwrap()[0];
        assert_eq!(module.module.as_deref(), Some("ip_vs"));
    }

    #[test]
    fn symbolizes_with_offset_and_module() {
        let symbols = Kallsyms::parse(SAMPLE);
        let symbol = symbols.symbolize(0xffffffff81001010).unwrap();
        assert_eq!((symbol.name.as_str(), symbol.offset, symbol.module), ("run_timer_softirq", 0x10, None));
        let symbol = symbols.symbolize(0xffffffffc0001004).unwrap();
        assert_eq!(symbol.name, "estimation_timer");
        assert_eq!(symbol.module.as_deref(), Some("ip_vs"));
        assert_eq!(symbol.offset, 4);
        assert_eq!(symbols.symbolize(0xffffffff81000000).unwrap().name, "_stext");
    }

    #[test]
    fn does_not_symbolize_outside_the_known_range() {
        let symbols = Kallsyms::parse(SAMPLE);
        assert_eq!(symbols.symbolize(0x1000), None);
        assert_eq!(symbols.symbolize(0xffffffffc0002000), None, "the last symbol has no known end");
    }

    #[test]
    fn detects_hidden_addresses() {
        let symbols = Kallsyms::parse("0000000000000000 T _stext\n0000000000000000 T ip_rcv\n");
        assert!(matches!(symbols.addresses("ip_rcv"), Err(KernelError::SymbolsHidden)));
        assert_eq!(symbols.symbolize(0), None);
    }

    #[test]
    fn a_scan_finds_what_the_table_finds() {
        let symbols = match Kallsyms::read() {
            Ok(symbols) if !symbols.hidden => symbols,
            Ok(_) => return eprintln!("SKIPPED a_scan_finds_what_the_table_finds: {}", KernelError::SymbolsHidden),
            Err(error) => return eprintln!("SKIPPED a_scan_finds_what_the_table_finds: {error}"),
        };
        // A static name defined several times, if the kernel has one, beside common functions and clones.
        let repeated = symbols
            .entries
            .iter()
            .map(|entry| symbols.name(entry))
            .find(|name| symbols.addresses(name).is_ok_and(|found| found.len() > 1));
        for name in ["run_timer_softirq", "__netif_receive_skb_core", "_stext"].into_iter().chain(repeated) {
            let scanned = Kallsyms::scan(name).unwrap();
            assert_eq!(scanned.addresses(), symbols.addresses(name).unwrap(), "{name}");
            for address in scanned.addresses() {
                let symbol = scanned.symbol_at(address).expect("a scanned address is a scanned symbol");
                let table = symbols.symbolize(address).expect("the table knows a scanned address");
                assert_eq!((table.offset, &table.module), (0, &symbol.module), "{name} at {address:#x}");
                assert!(is_symbol_named(&symbol.name, name), "{} for {name}", symbol.name);
            }
        }
        assert!(Kallsyms::scan("no_such_symbol_anywhere").unwrap().addresses().is_empty());
        assert!(Kallsyms::scan("").unwrap().addresses().is_empty(), "an empty name is no symbol's");
    }

    #[test]
    fn parses_the_running_kernel_quickly() {
        let started = std::time::Instant::now();
        let symbols = match Kallsyms::read() {
            Ok(symbols) => symbols,
            Err(error) => {
                eprintln!("SKIPPED parses_the_running_kernel_quickly: {error}");
                return;
            }
        };
        let read_time = started.elapsed();
        if symbols.hidden {
            eprintln!("SKIPPED parses_the_running_kernel_quickly: {}", KernelError::SymbolsHidden);
            return;
        }
        let started = std::time::Instant::now();
        let addresses = symbols.addresses("run_timer_softirq").unwrap();
        let lookup_time = started.elapsed();
        assert!(symbols.by_address.get().is_none(), "a lookup by name must not build the sorted index");
        let started = std::time::Instant::now();
        let symbol = symbols.symbolize(addresses[0] + 1).unwrap();
        let symbolize_time = started.elapsed();
        assert_eq!((symbol.name.as_str(), symbol.offset), ("run_timer_softirq", 1));
        eprintln!(
            "kallsyms: {} entries, {} bytes of names, read and parsed {read_time:?}, lookup by name \
             {lookup_time:?}, first symbolize (builds the index) {symbolize_time:?}",
            symbols.entries.len(),
            symbols.names.len()
        );
    }
}
