//! Consuming records from a BPF ring buffer map.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use aya::maps::{MapData, RingBuf};

use super::SessionError;

/// The consumer side of a `BPF_MAP_TYPE_RINGBUF` map, taken out of a [`Session`](super::Session).
///
/// It owns the map's file descriptor, so it keeps working (and keeps the map alive) after the session that
/// handed it out is dropped.
pub struct RingReader {
    ring: RingBuf<MapData>,
}

impl RingReader {
    pub(super) fn new(ring: RingBuf<MapData>) -> Self {
        Self { ring }
    }

    /// Hands every record already in the buffer to `on_record`; if there were none, waits up to `timeout` for
    /// the kernel to signal new data and drains again. Returns how many records were delivered.
    pub fn poll(&mut self, timeout: Duration, on_record: &mut dyn FnMut(&[u8])) -> Result<usize, SessionError> {
        let drained = self.drain(on_record);
        if drained > 0 {
            return Ok(drained);
        }
        if self.wait(timeout)? {
            Ok(self.drain(on_record))
        } else {
            Ok(0)
        }
    }

    fn drain(&mut self, on_record: &mut dyn FnMut(&[u8])) -> usize {
        let mut count = 0;
        while let Some(record) = self.ring.next() {
            on_record(&record);
            count += 1;
        }
        count
    }

    /// Waits for the ring buffer to become readable; false on timeout or on a signal.
    fn wait(&self, timeout: Duration) -> Result<bool, SessionError> {
        let mut pollfd = libc::pollfd { fd: self.ring.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let timeout_ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd, and the length passed is 1.
        let ready = unsafe { libc::poll(&mut pollfd, 1, timeout_ms) };
        if ready >= 0 {
            return Ok(ready > 0);
        }
        let source = io::Error::last_os_error();
        if source.kind() == io::ErrorKind::Interrupted {
            Ok(false)
        } else {
            Err(SessionError::Syscall { what: "poll(2) on the ring buffer", source })
        }
    }
}

impl AsRawFd for RingReader {
    /// The ring buffer's descriptor, readable when records are waiting (for callers running their own epoll).
    fn as_raw_fd(&self) -> RawFd {
        self.ring.as_raw_fd()
    }
}
