//! `/proc/PID/maps`: the file mappings of a process, to find which file (and where in it) an address lies.

/// One mapping of a file into a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mapping {
    /// First address.
    pub(crate) start: u64,
    /// One past the last address.
    pub(crate) end: u64,
    /// Offset in the file of `start`.
    pub(crate) offset: u64,
    /// The file's device (`major:minor` as the kernel prints it) and inode: the cache key of its symbols.
    pub(crate) file: (String, u64),
    /// The file's path in the process's mount namespace, a pseudo-file name such as `[vdso]`, or empty for
    /// anonymous memory.
    pub(crate) path: String,
}

impl Mapping {
    /// The file offset of `address`, which must lie in the mapping.
    pub(crate) fn file_offset(&self, address: u64) -> u64 {
        address - self.start + self.offset
    }

    /// Whether the mapping is of a file (not a pseudo-mapping such as `[vdso]` or `[heap]`).
    pub(crate) fn is_file(&self) -> bool {
        self.path.starts_with('/') && self.file.1 != 0
    }
}

/// The mappings of a maps text (`START-END PERMS OFFSET DEV INODE [PATH]` per line), ordered by address;
/// malformed lines are left out.
pub(crate) fn parse_maps(text: &str) -> Vec<Mapping> {
    let mut mappings: Vec<Mapping> = text.lines().filter_map(parse_line).collect();
    mappings.sort_by_key(|mapping| mapping.start);
    mappings
}

fn parse_line(line: &str) -> Option<Mapping> {
    let mut fields = line.splitn(6, ' ');
    let (start, end) = fields.next()?.split_once('-')?;
    let _permissions = fields.next()?;
    let offset = fields.next()?;
    let device = fields.next()?;
    let inode = fields.next()?.parse().ok()?;
    let path = fields.next().unwrap_or_default().trim();
    Some(Mapping {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        offset: u64::from_str_radix(offset, 16).ok()?,
        file: (device.to_string(), inode),
        path: path.to_string(),
    })
}

/// The mapping holding `address`, in mappings ordered by address.
pub(crate) fn find(mappings: &[Mapping], address: u64) -> Option<&Mapping> {
    let after = mappings.partition_point(|mapping| mapping.start <= address);
    mappings[..after].last().filter(|mapping| address < mapping.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
55d0e1b2c000-55d0e1b2d000 r--p 00000000 fd:01 1234567                    /usr/bin/target
55d0e1b2d000-55d0e1b2e000 r-xp 00001000 fd:01 1234567                    /usr/bin/target
55d0e2000000-55d0e2021000 rw-p 00000000 00:00 0                          [heap]
7f0000000000-7f0000001000 rw-p 00000000 00:00 0 
7f1000000000-7f1000100000 r-xp 00028000 fd:01 42                         /usr/lib/x86_64-linux-gnu/libc.so.6
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]
";

    #[test]
    fn parses_mappings_in_address_order() {
        let mappings = parse_maps(MAPS);
        assert_eq!(mappings.len(), 6, "{mappings:#?}");
        let text = find(&mappings, 0x55d0e1b2d123).unwrap();
        assert_eq!((text.path.as_str(), text.file_offset(0x55d0e1b2d123)), ("/usr/bin/target", 0x1123));
        assert_eq!(text.file, ("fd:01".to_string(), 1234567));
        assert!(text.is_file());
        let libc = find(&mappings, 0x7f1000000010).unwrap();
        assert_eq!(libc.file_offset(0x7f1000000010), 0x28010);
        assert!(!find(&mappings, 0x7ffd00000010).unwrap().is_file());
        assert_eq!(find(&mappings, 0x7f0000000010).unwrap().path, "", "anonymous memory");
        assert_eq!(find(&mappings, 0x1000), None);
    }
}
