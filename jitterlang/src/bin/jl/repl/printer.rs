//! Output of the running scripts, printed above the prompt unless muted.
//!
//! rustyline's external printer is not used: with it, keys that arrive in one burst (a paste) stay unread until
//! the next key press. Instead, output clears the prompt line, prints, and redraws the prompt; what was typed so
//! far stays in the line editor and reappears with the next key.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The prompt redrawn after asynchronous output.
pub const PROMPT: &str = "jl> ";

/// A shared handle on the terminal output and the mute switch.
#[derive(Clone, Default)]
pub struct Printer {
    lock: Arc<Mutex<()>>,
    muted: Arc<AtomicBool>,
    /// Set while the prompt waits for a script to stop: nothing is being edited, print plainly.
    direct: Arc<AtomicBool>,
}

impl Printer {
    /// Prints text from a running script, unless muted.
    pub fn print(&self, text: String) {
        if self.muted.load(Ordering::Relaxed) || text.is_empty() {
            return;
        }
        let Ok(_guard) = self.lock.lock() else { return };
        let mut stdout = std::io::stdout().lock();
        // A closed terminal leaves nobody to tell.
        let _ = if self.direct.load(Ordering::Relaxed) {
            write!(stdout, "{text}")
        } else {
            write!(stdout, "\r\x1b[2K{}{PROMPT}", text.replace('\n', "\r\n"))
        };
        let _ = stdout.flush();
    }

    /// Stops (true) or resumes (false) printing the scripts' output.
    pub fn set_muted(&self, muted: bool) {
        self.muted.store(muted, Ordering::Relaxed);
    }

    /// Prints plainly (true) while the prompt is not being edited, or above the prompt (false).
    pub fn set_direct(&self, direct: bool) {
        self.direct.store(direct, Ordering::Relaxed);
    }

    /// A writer that prints each complete line through this printer.
    pub fn writer(&self) -> LineWriter {
        LineWriter { printer: self.clone(), pending: Vec::new() }
    }
}

/// `Write` adapter for a running script's output.
pub struct LineWriter {
    printer: Printer,
    pending: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(bytes);
        if let Some(end) = self.pending.iter().rposition(|b| *b == b'\n') {
            let lines: Vec<u8> = self.pending.drain(..=end).collect();
            self.printer.print(String::from_utf8_lossy(&lines).into_owned());
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.printer.print(String::from_utf8_lossy(&rest).into_owned());
        }
        Ok(())
    }
}
