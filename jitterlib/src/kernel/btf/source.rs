//! Where a BTF blob's bytes come from, read where they lie: the kernel's own copy mapped read-only (from Linux
//! 6.16, `/sys/kernel/btf/vmlinux` can be mapped: no copy, no read calls, and the kernel's pages do not count in
//! the process's RSS), else the file read at offsets (`pread`, one 4 KiB page per call from sysfs), never held
//! whole, or bytes already in memory (tests, fixtures).
//!
//! Two ways to read: [`Pages`], a few recently used 4 KiB pages for the scattered reads of a lookup, and
//! [`Sequential`], a forward-moving window for the passes that build the index. Both read a mapping or memory
//! in place.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex, MutexGuard};

/// Bytes per page: what sysfs hands out per read of `/sys/kernel/btf/*` anyway.
const PAGE: u64 = 4096;
/// Pages [`Pages`] keeps (128 KiB at most).
const KEPT_PAGES: usize = 32;
/// Bytes [`Sequential`] reads ahead at a time.
const WINDOW: usize = 64 * 1024;

/// A blob's bytes: a file, mapped or read on demand, or memory.
#[derive(Debug)]
pub(super) enum Source {
    /// Mapped read-only and private.
    Mapped(memmap2::Mmap),
    /// Read at offsets on demand.
    File(File),
    /// Already in memory.
    Memory(Vec<u8>),
}

impl Source {
    /// `file` mapped where the kernel allows it, else read on demand.
    pub(super) fn open(file: File) -> Source {
        // SAFETY: the kernel's BTF files are never written or truncated while mapped; a private read-only
        // mapping of any other file is only read through bounds-checked slices.
        match unsafe { memmap2::MmapOptions::new().map_copy_read_only(&file) } {
            Ok(map) => Source::Mapped(map),
            Err(_) => Source::File(file),
        }
    }

    /// The blob's size in bytes.
    pub(super) fn len(&self) -> io::Result<u64> {
        match self {
            Source::Mapped(map) => Ok(map.len() as u64),
            Source::File(file) => Ok(file.metadata()?.len()),
            Source::Memory(data) => Ok(data.len() as u64),
        }
    }

    /// All of the blob, where it can be read in place.
    fn bytes(&self) -> Option<&[u8]> {
        match self {
            Source::Mapped(map) => Some(map),
            Source::File(_) => None,
            Source::Memory(data) => Some(data),
        }
    }

    /// The bytes from `offset` up to `end` (at most the blob's end), where the blob can be read in place.
    pub(super) fn bytes_between(&self, offset: u64, end: u64) -> Option<&[u8]> {
        let bytes = self.bytes()?;
        let end = usize::try_from(end).unwrap_or(usize::MAX).min(bytes.len());
        Some(bytes.get(usize::try_from(offset).ok()?..end).unwrap_or_default())
    }

    /// Fills `buf` from `offset` on; fewer bytes only at the end of the blob.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if let Some(available) = self.bytes_between(offset, u64::MAX) {
            let len = buf.len().min(available.len());
            buf[..len].copy_from_slice(&available[..len]);
            return Ok(len);
        }
        match self {
            Source::Mapped(_) | Source::Memory(_) => Ok(0),
            Source::File(file) => {
                let mut done = 0;
                while done < buf.len() {
                    match file.read_at(&mut buf[done..], offset + done as u64) {
                        Ok(0) => break,
                        Ok(read) => done += read,
                        Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                        Err(error) => return Err(error),
                    }
                }
                Ok(done)
            }
        }
    }
}

/// A source read a page at a time, the most recently used pages kept (a file read on demand), or in place.
#[derive(Debug)]
pub(super) struct Pages {
    source: Source,
    /// Most recently used first.
    kept: Mutex<Vec<(u64, Arc<[u8]>)>>,
}

impl Pages {
    pub(super) fn new(source: Source) -> Pages {
        Pages { source, kept: Mutex::new(Vec::with_capacity(KEPT_PAGES)) }
    }

    pub(super) fn source(&self) -> &Source {
        &self.source
    }

    /// Page `number` (shorter than [`PAGE`] at the end of the blob).
    fn page(&self, number: u64) -> io::Result<Arc<[u8]>> {
        let mut kept = lock(&self.kept);
        if let Some(at) = kept.iter().position(|(kept_number, _)| *kept_number == number) {
            let entry = kept.remove(at);
            let page = Arc::clone(&entry.1);
            kept.insert(0, entry);
            return Ok(page);
        }
        let mut buf = vec![0; PAGE as usize];
        let len = self.source.read_at(&mut buf, number * PAGE)?;
        buf.truncate(len);
        let page: Arc<[u8]> = buf.into();
        kept.truncate(KEPT_PAGES - 1);
        kept.insert(0, (number, Arc::clone(&page)));
        Ok(page)
    }

    /// Fills `buf` with the bytes at `offset`; `false` when the blob ends first.
    pub(super) fn read(&self, offset: u64, buf: &mut [u8]) -> io::Result<bool> {
        if self.source.bytes().is_some() {
            return Ok(self.source.read_at(buf, offset)? == buf.len());
        }
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            let page = self.page(at / PAGE)?;
            let in_page = page.get((at % PAGE) as usize..).unwrap_or_default();
            if in_page.is_empty() {
                return Ok(false);
            }
            let len = in_page.len().min(buf.len() - done);
            buf[done..done + len].copy_from_slice(&in_page[..len]);
            done += len;
        }
        Ok(true)
    }

    /// The bytes from `offset` up to the first NUL or to `end`, whichever comes first.
    pub(super) fn c_string(&self, offset: u64, end: u64) -> io::Result<Vec<u8>> {
        if let Some(bytes) = self.source.bytes_between(offset, end) {
            return Ok(bytes.split(|&byte| byte == 0).next().unwrap_or_default().to_vec());
        }
        let mut text = Vec::new();
        let mut at = offset;
        while at < end {
            let page = self.page(at / PAGE)?;
            let in_page = page.get((at % PAGE) as usize..).unwrap_or_default();
            let in_page = &in_page[..in_page.len().min((end - at) as usize)];
            if in_page.is_empty() {
                break;
            }
            if let Some(nul) = in_page.iter().position(|&byte| byte == 0) {
                text.extend_from_slice(&in_page[..nul]);
                return Ok(text);
            }
            text.extend_from_slice(in_page);
            at += in_page.len() as u64;
        }
        Ok(text)
    }
}

/// A window over a source that moves forward only: one pass over a section without holding it.
pub(super) struct Sequential<'s> {
    source: &'s Source,
    /// Where the blob (or the part of it this pass may read) ends.
    end: u64,
    buf: Vec<u8>,
    /// The offset of `buf[0]`.
    buf_at: u64,
}

impl<'s> Sequential<'s> {
    /// A window over `source` up to offset `end`.
    pub(super) fn new(source: &'s Source, end: u64) -> Sequential<'s> {
        Sequential { source, end, buf: Vec::new(), buf_at: 0 }
    }

    /// The bytes from `offset` on that the window holds: at least `min` of them unless `end` comes first.
    /// `offset` must not be before the previous call's.
    pub(super) fn at(&mut self, offset: u64, min: usize) -> io::Result<&[u8]> {
        if let Some(bytes) = self.source.bytes_between(offset, self.end) {
            return Ok(bytes);
        }
        let Some(mut skip) = offset.checked_sub(self.buf_at) else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "BTF pass moved backwards"));
        };
        if skip > self.buf.len() as u64 {
            self.buf.clear();
            self.buf_at = offset;
            skip = 0;
        }
        let skip = skip as usize;
        let held = self.buf.len() - skip;
        let unread = self.end.saturating_sub(self.buf_at + self.buf.len() as u64);
        if held < min && unread > 0 {
            self.buf.drain(..skip);
            self.buf_at = offset;
            let more = (min.max(WINDOW) - held).min(usize::try_from(unread).unwrap_or(usize::MAX));
            self.buf.resize(held + more, 0);
            let read = self.source.read_at(&mut self.buf[held..], offset + held as u64)?;
            self.buf.truncate(held + read);
            return Ok(&self.buf);
        }
        Ok(&self.buf[skip..])
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(len: usize) -> Vec<u8> {
        (0..len).map(|index| (index % 251) as u8).collect()
    }

    /// `data` as a file read on demand (the way a kernel without mappable BTF is read), and in memory.
    fn both_ways(data: &[u8], name: &str) -> [Source; 2] {
        let path = std::env::temp_dir().join(format!("jl-btf-source-{}-{name}", std::process::id()));
        std::fs::write(&path, data).unwrap();
        let file = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        [Source::File(file), Source::Memory(data.to_vec())]
    }

    #[test]
    fn pages_read_across_page_boundaries_and_stop_at_the_end() {
        let data = blob(3 * PAGE as usize + 100);
        for source in both_ways(&data, "pages") {
            let pages = Pages::new(source);
            let mut buf = vec![0; 200];
            assert!(pages.read(PAGE - 50, &mut buf).unwrap());
            assert_eq!(buf, data[PAGE as usize - 50..][..200]);
            assert!(!pages.read(data.len() as u64 - 10, &mut buf).unwrap(), "runs past the end");
            for number in 0..KEPT_PAGES as u64 + 3 {
                pages.read(number * PAGE % data.len() as u64, &mut buf[..1]).unwrap();
            }
            assert!(lock(&pages.kept).len() <= KEPT_PAGES);
        }
    }

    #[test]
    fn c_strings_end_at_a_nul_or_the_section_end() {
        let mut data = vec![b'x'; PAGE as usize - 2];
        data.extend_from_slice(b"abc\0def");
        for source in both_ways(&data, "strings") {
            let pages = Pages::new(source);
            assert_eq!(pages.c_string(PAGE - 3, PAGE + 10).unwrap(), b"xabc", "across a page boundary");
            assert_eq!(pages.c_string(PAGE + 2, PAGE + 4).unwrap(), b"de", "cut at the section end");
        }
    }

    #[test]
    fn the_window_moves_forward_and_holds_what_is_asked() {
        let data = blob(3 * WINDOW);
        for source in both_ways(&data, "window") {
            let mut window = Sequential::new(&source, data.len() as u64);
            assert_eq!(window.at(10, 4).unwrap()[..4], data[10..14]);
            let far = WINDOW as u64 - 2;
            assert_eq!(window.at(far, 100).unwrap()[..100], data[far as usize..][..100], "refilled across the end");
            let big = window.at(far + 1, 2 * WINDOW).unwrap();
            assert!(big.len() >= 2 * WINDOW);
            assert_eq!(big[..2 * WINDOW], data[far as usize + 1..][..2 * WINDOW]);
            assert_eq!(window.at(data.len() as u64 - 3, 12).unwrap(), &data[data.len() - 3..], "short at the end");
        }
        let source = both_ways(&data, "backwards").into_iter().next().unwrap();
        let mut window = Sequential::new(&source, data.len() as u64);
        window.at(100, 1).unwrap();
        assert!(window.at(5, 1).is_err(), "a file window does not move backwards");
    }

    #[test]
    fn the_running_kernels_btf_is_mapped_where_the_kernel_allows_it() {
        let Ok(file) = File::open(crate::kernel::btf::VMLINUX_BTF) else {
            eprintln!("SKIPPED: no kernel BTF here");
            return;
        };
        let version =
            crate::kernel::KernelVersion::parse(&std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap());
        let source = Source::open(file);
        // Mapping /sys/kernel/btf/vmlinux came with Linux 6.16.
        if version.is_some_and(|version| version.at_least(6, 16)) {
            assert!(matches!(source, Source::Mapped(_)), "Linux 6.16 and later map it");
        }
        let mut magic = [0; 2];
        assert_eq!(source.read_at(&mut magic, 0).unwrap(), 2);
        assert_eq!(u16::from_ne_bytes(magic), crate::kernel::btf::MAGIC);
    }
}
