//! Where results go: text in bpftrace's layout, or JSON lines.

use crate::codegen::Stat;
use jitterlib::agg::{render_json, render_text, Snapshot, Symbolizer};
use jitterlib::kernel::KernelInfo;
use std::io::Write;

/// Output formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human-readable text (bpftrace's layout).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
    /// Text, except maps keyed by `kstack`: one `frame;frame;frame count` line per stack (root first), the
    /// input of flame graph tools.
    Folded,
}

/// Writes printf lines, maps and the lost-data report.
pub(super) struct Output<'a> {
    out: &'a mut dyn Write,
    format: OutputFormat,
    symbols: KernelSymbols<'a>,
}

/// Resolves kernel addresses through the kernel metadata.
struct KernelSymbols<'a>(&'a dyn KernelInfo);

impl Symbolizer for KernelSymbols<'_> {
    fn symbolize(&self, address: u64) -> String {
        match self.0.symbolize(address) {
            Some(symbol) if symbol.offset == 0 => symbol.name,
            Some(symbol) => format!("{}+{}", symbol.name, symbol.offset),
            None => format!("0x{address:x}"),
        }
    }
}

impl<'a> Output<'a> {
    pub(super) fn new(out: &'a mut dyn Write, format: OutputFormat, kernel: &'a dyn KernelInfo) -> Output<'a> {
        Output { out, format, symbols: KernelSymbols(kernel) }
    }

    pub(super) fn format(&self) -> OutputFormat {
        self.format
    }

    pub(super) fn symbols(&self) -> &dyn Symbolizer {
        &self.symbols
    }

    /// Writes already formatted text.
    pub(super) fn raw(&mut self, text: &str) -> std::io::Result<()> {
        self.out.write_all(text.as_bytes())
    }

    pub(super) fn printf(&mut self, text: &str) -> std::io::Result<()> {
        match self.format {
            OutputFormat::Text | OutputFormat::Folded => self.out.write_all(text.as_bytes())?,
            OutputFormat::Json => writeln!(self.out, "{}", serde_json::json!({ "type": "printf", "data": text }))?,
        }
        self.out.flush()
    }

    pub(super) fn map(&mut self, snapshot: &Snapshot) -> std::io::Result<()> {
        match self.format {
            OutputFormat::Text | OutputFormat::Folded => {
                write!(self.out, "{}\n\n", render_text(snapshot, &self.symbols).trim_end())
            }
            OutputFormat::Json => writeln!(self.out, "{}", render_json(snapshot, &self.symbols)),
        }
    }

    /// Reports non-zero lost-data counters (on stderr for text, as a `lost` object for JSON).
    pub(super) fn lost(&mut self, lost: &[(Stat, u64)]) -> std::io::Result<()> {
        match self.format {
            OutputFormat::Text | OutputFormat::Folded => {
                for (stat, count) in lost.iter().filter(|(_, count)| *count > 0) {
                    eprintln!("jl: warning: {count} {}", stat.describe());
                }
                Ok(())
            }
            OutputFormat::Json => {
                let data: serde_json::Map<String, serde_json::Value> =
                    lost.iter().map(|(stat, count)| (stat.key().to_string(), (*count).into())).collect();
                writeln!(self.out, "{}", serde_json::json!({ "type": "lost", "data": data }))
            }
        }
    }
}
