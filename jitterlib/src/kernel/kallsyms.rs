//! `/proc/kallsyms`: symbol addresses by name, and the symbol containing an address.

use std::ops::Range;
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

/// One line of kallsyms, pointing into the text it was parsed from.
#[derive(Clone, Debug)]
struct Entry {
    address: u64,
    name: Range<usize>,
    module: Option<Range<usize>>,
    is_text: bool,
}

/// A parsed copy of `/proc/kallsyms`.
///
/// Parsing keeps the file text and one small entry per line; the address-sorted index that
/// [`Kallsyms::symbolize`] needs is built on its first use only.
#[derive(Debug)]
pub(crate) struct Kallsyms {
    text: String,
    entries: Vec<Entry>,
    hidden: bool,
    by_address: OnceLock<Vec<usize>>,
}

impl Kallsyms {
    /// Reads and parses `/proc/kallsyms`.
    pub(crate) fn read() -> Result<Kallsyms, KernelError> {
        Ok(Kallsyms::parse(read_text()?))
    }

    /// Parses kallsyms text (`ADDRESS TYPE NAME[\t[MODULE]]` per line); malformed lines are skipped.
    pub(crate) fn parse(text: String) -> Kallsyms {
        let bytes = text.as_bytes();
        let mut entries = Vec::with_capacity(bytes.len() / 40);
        let mut line_start = 0;
        while line_start < bytes.len() {
            let line_end =
                bytes[line_start..].iter().position(|&byte| byte == b'\n').map_or(bytes.len(), |at| line_start + at);
            if let Some(entry) = parse_line(bytes, line_start..line_end) {
                entries.push(entry);
            }
            line_start = line_end + 1;
        }
        let hidden = !entries.is_empty() && entries.iter().all(|entry| entry.address == 0);
        Kallsyms { text, entries, hidden, by_address: OnceLock::new() }
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
                name: self.text[entry.name.clone()].to_string(),
                address: entry.address,
                size: self.end_of(entry.address).map_or(0, |end| end - entry.address),
                module: entry.module.clone().map(|module| self.text[module].to_string()),
            })
            .collect())
    }

    fn entries_named<'a>(&'a self, name: &'a str) -> Result<impl Iterator<Item = &'a Entry> + 'a, KernelError> {
        if self.hidden {
            return Err(KernelError::SymbolsHidden);
        }
        Ok(self.entries.iter().filter(move |entry| is_symbol_named(&self.text[entry.name.clone()], name)))
    }

    /// The symbol containing `address`: the nearest one at or below it, provided a higher symbol follows
    /// (so the symbol's end is known). Among aliases at one address, text symbols win, then file order.
    pub(crate) fn symbolize(&self, address: u64) -> Option<Symbol> {
        let (entry, _end) = self.extent_of(address)?;
        Some(Symbol {
            name: self.text[entry.name.clone()].to_string(),
            offset: address - entry.address,
            module: entry.module.clone().map(|module| self.text[module].to_string()),
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
        let after = order.partition_point(|&index| self.entries[index].address <= address);
        let end = self.entries[*order.get(after)?].address;
        let start = self.entries[*order.get(after.checked_sub(1)?)?].address;
        let first_at_start = order.partition_point(|&index| self.entries[index].address < start);
        Some((&self.entries[order[first_at_start]], end))
    }

    /// Entry indexes by address; at equal addresses text symbols first, then in file order.
    fn sorted_by_address(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        order.sort_by_key(|&index| {
            let entry = &self.entries[index];
            (entry.address, !entry.is_text, index)
        });
        order
    }
}

/// The text of `/proc/kallsyms` (the kernel takes ~40 ms to generate its ~5 MB on the development host).
fn read_text() -> Result<String, KernelError> {
    std::fs::read_to_string(KALLSYMS).map_err(|error| KernelError::io(KALLSYMS, error))
}

/// Whether kallsyms name `real` stands for function `wanted`: the same name, or a compiler clone of it
/// (`__netif_receive_skb_core.constprop.0`, `.isra.0`, `.part.0`), but not its split-off `.cold` tail.
pub(crate) fn is_symbol_named(real: &str, wanted: &str) -> bool {
    match real.strip_prefix(wanted) {
        Some("") => true,
        Some(suffix) => suffix.starts_with('.') && !suffix.starts_with(".cold"),
        None => false,
    }
}

/// Parses the line `text[line]`; the ranges it returns index `text`, and always fall on ASCII separators.
fn parse_line(text: &[u8], line: Range<usize>) -> Option<Entry> {
    let bytes = &text[line.clone()];
    let address_end = bytes.iter().position(|&byte| byte == b' ')?;
    let address = parse_hex(&bytes[..address_end])?;
    let kind = *bytes.get(address_end + 1)?;
    if bytes.get(address_end + 2) != Some(&b' ') {
        return None;
    }
    let name_start = address_end + 3;
    let name_end = bytes[name_start..].iter().position(|&byte| byte == b'\t').map_or(bytes.len(), |at| name_start + at);
    let module = bytes
        .get(name_end + 1..)
        .and_then(|rest| rest.strip_prefix(b"["))
        .and_then(|rest| rest.strip_suffix(b"]"))
        .map(|module| {
            let start = line.start + name_end + 2;
            start..start + module.len()
        });
    (name_end > name_start).then(|| Entry {
        address,
        name: line.start + name_start..line.start + name_end,
        module,
        is_text: matches!(kind, b'T' | b't'),
    })
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
        let symbols = Kallsyms::parse(SAMPLE.to_string());
        assert_eq!(symbols.addresses("helper").unwrap(), vec![0xffffffff81002000, 0xffffffff81003000]);
        assert_eq!(symbols.addresses("run_timer_softirq").unwrap(), vec![0xffffffff81001000]);
        assert!(symbols.addresses("absent").unwrap().is_empty());
    }

    #[test]
    fn finds_compiler_clones_but_not_cold_parts() {
        let symbols = Kallsyms::parse(SAMPLE.to_string());
        let found = symbols.matching("__netif_receive_skb_core").unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "__netif_receive_skb_core.constprop.0");
        assert_eq!((found[0].address, found[0].size), (0xffffffff81005000, 0x1000));
        let module = &symbols.matching("estimation_timer").unwrap()[0];
        assert_eq!(module.module.as_deref(), Some("ip_vs"));
    }

    #[test]
    fn symbolizes_with_offset_and_module() {
        let symbols = Kallsyms::parse(SAMPLE.to_string());
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
        let symbols = Kallsyms::parse(SAMPLE.to_string());
        assert_eq!(symbols.symbolize(0x1000), None);
        assert_eq!(symbols.symbolize(0xffffffffc0002000), None, "the last symbol has no known end");
    }

    #[test]
    fn detects_hidden_addresses() {
        let symbols = Kallsyms::parse("0000000000000000 T _stext\n0000000000000000 T ip_rcv\n".to_string());
        assert!(matches!(symbols.addresses("ip_rcv"), Err(KernelError::SymbolsHidden)));
        assert_eq!(symbols.symbolize(0), None);
    }

    #[test]
    fn parses_the_running_kernel_quickly() {
        let started = std::time::Instant::now();
        let text = match read_text() {
            Ok(text) => text,
            Err(error) => {
                eprintln!("SKIPPED parses_the_running_kernel_quickly: {error}");
                return;
            }
        };
        let read_time = started.elapsed();
        let started = std::time::Instant::now();
        let symbols = Kallsyms::parse(text);
        let parse_time = started.elapsed();
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
            "kallsyms: {} entries, read {read_time:?}, parse {parse_time:?}, lookup by name {lookup_time:?}, \
             first symbolize (builds the index) {symbolize_time:?}",
            symbols.entries.len()
        );
    }
}
