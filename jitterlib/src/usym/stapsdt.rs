//! The USDT probes of an ELF file: the `stapsdt` notes that `<sys/sdt.h>`'s `DTRACE_PROBE*` / `STAP_PROBE*`
//! macros leave in `.note.stapsdt`, one per probe site, each with its address, its semaphore's and the
//! assembler operands of its arguments.
//!
//! The note records the addresses as linked; a prelinked file was moved since, which shows in where
//! `.stapsdt.base` now is against the base address the note recorded: the difference is added to both addresses.
//! The format is systemtap's: <https://sourceware.org/systemtap/wiki/UserSpaceProbeImplementation>.

use object::elf::SHT_NOTE;
use object::read::elf::{ElfFile64, SectionHeader};
use object::{Endianness, Object, ObjectSection};

/// The note type of a USDT probe site.
const NT_STAPSDT: u32 = 3;
/// The note name of a USDT probe site.
const STAPSDT_NAME: &[u8] = b"stapsdt";
/// The section whose address the notes' base address recorded.
const BASE_SECTION: &str = ".stapsdt.base";

/// One site of a USDT probe in an ELF file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsdtNote {
    /// The provider (`PROVIDER` of `DTRACE_PROBE(PROVIDER, NAME)`).
    pub provider: String,
    /// The probe's name.
    pub name: String,
    /// The site's virtual address (a `nop` the macro placed), adjusted for prelinking.
    pub address: u64,
    /// The virtual address of the probe's semaphore (a `u16` the program tests before preparing the arguments),
    /// `None` for a probe that has none.
    pub semaphore: Option<u64>,
    /// The arguments' operands as the assembler wrote them, separated by spaces (`-4@%edi 8@-8(%rbp)`).
    pub args: String,
}

/// The USDT probe sites of a 64-bit ELF file's bytes, in note order: none for a file without the notes (or a
/// 32-bit one), an error saying why for notes that cannot be read.
pub(crate) fn usdt_notes(data: &[u8]) -> Result<Vec<UsdtNote>, String> {
    let Ok(file) = ElfFile64::<Endianness>::parse(data) else { return Ok(Vec::new()) };
    let endian = file.endian();
    let base = file.section_by_name(BASE_SECTION).map(|section| section.address());
    let mut found = Vec::new();
    for section in file.sections().filter(|section| section.name() == Ok(".note.stapsdt")) {
        let header = section.elf_section_header();
        if header.sh_type(endian) != SHT_NOTE {
            continue;
        }
        let Some(mut notes) = header.notes(endian, data).map_err(|error| error.to_string())? else { continue };
        while let Some(note) = notes.next().map_err(|error| error.to_string())? {
            if note.n_type(endian) == NT_STAPSDT && note.name() == STAPSDT_NAME {
                found.push(parse_desc(note.desc(), base).ok_or("a stapsdt note is too short")?);
            }
        }
    }
    Ok(found)
}

/// A note's description: the site's, base and semaphore addresses (little-endian, as x86-64 writes them), then
/// the provider, name and arguments as NUL-terminated strings.
fn parse_desc(desc: &[u8], base: Option<u64>) -> Option<UsdtNote> {
    let word = |index: usize| Some(u64::from_le_bytes(desc.get(index * 8..index * 8 + 8)?.try_into().ok()?));
    let (address, recorded_base, semaphore) = (word(0)?, word(1)?, word(2)?);
    let mut strings = desc.get(24..)?.split(|&byte| byte == 0).map(|bytes| String::from_utf8_lossy(bytes));
    let (provider, name) = (strings.next()?.into_owned(), strings.next()?.into_owned());
    let args = strings.next().unwrap_or_default().into_owned();
    let moved = |address: u64| match base {
        Some(base) if recorded_base != 0 => address.wrapping_add(base.wrapping_sub(recorded_base)),
        _ => address,
    };
    let semaphore = (semaphore != 0).then(|| moved(semaphore));
    Some(UsdtNote { provider, name, address: moved(address), semaphore, args })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(address: u64, base: u64, semaphore: u64, strings: &str) -> Vec<u8> {
        let mut bytes = [address, base, semaphore].iter().flat_map(|word| word.to_le_bytes()).collect::<Vec<_>>();
        bytes.extend(strings.as_bytes());
        bytes
    }

    #[test]
    fn reads_the_addresses_and_the_strings() {
        let note = parse_desc(&desc(0x1139, 0x2004, 0, "jl\0tick\0-4@%edi 8@%rsi\0"), Some(0x2004)).unwrap();
        assert_eq!(
            note,
            UsdtNote {
                provider: "jl".into(),
                name: "tick".into(),
                address: 0x1139,
                semaphore: None,
                args: "-4@%edi 8@%rsi".into(),
            }
        );
    }

    #[test]
    fn prelinked_files_move_the_site_and_the_semaphore_by_the_base() {
        let note = parse_desc(&desc(0x1139, 0x2004, 0x4010, "p\0n\0\0"), Some(0x3004)).unwrap();
        assert_eq!((note.address, note.semaphore), (0x2139, Some(0x5010)));
        assert_eq!(note.args, "");
    }

    #[test]
    fn short_notes_are_malformed() {
        assert_eq!(parse_desc(&[0; 20], None), None);
        assert_eq!(parse_desc(&desc(1, 0, 0, "only-provider"), None), None);
    }
}
