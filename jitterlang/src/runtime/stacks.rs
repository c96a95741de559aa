//! Kernel stacks behind `kstack` map keys: read from the stack trace map, symbolized, and printed like
//! bpftrace (one frame per line) or folded for flame graphs (`root;...;leaf count`).

use super::RunError;
use crate::codegen::Compiled;
use jitterlib::agg::{AggValue, FieldValue, Snapshot, Symbolizer};
use jitterlib::kernel::KernelInfo;
use jitterlib::maps::MapEntries;
use jitterlib::session::Session;
use std::collections::HashMap;

/// Indentation of a frame in bpftrace's stack layout.
const FRAME_INDENT: &str = "        ";

/// The stacks of the stack trace map: addresses by stack id, leaf first.
pub(super) struct Stacks<'k> {
    addresses: HashMap<u32, Vec<u64>>,
    kernel: &'k dyn KernelInfo,
}

impl<'k> Stacks<'k> {
    /// Reads the script's stack trace map (nothing when the script has none).
    pub(super) fn read(session: &Session, compiled: &Compiled, kernel: &'k dyn KernelInfo) -> Result<Self, RunError> {
        let mut addresses = HashMap::new();
        if let Some(map) = &compiled.kstack_map {
            if let MapEntries::Shared(entries) = session.read_map(map)? {
                for (key, value) in entries {
                    let Some(id) = key.get(..4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes) else {
                        continue;
                    };
                    let frames = value
                        .chunks_exact(8)
                        .filter_map(|chunk| chunk.try_into().ok().map(u64::from_le_bytes))
                        .take_while(|address| *address != 0)
                        .collect();
                    addresses.insert(id, frames);
                }
            }
        }
        Ok(Stacks { addresses, kernel })
    }

    /// Builds stacks from known addresses, for tests.
    #[cfg(test)]
    fn from_addresses(addresses: HashMap<u32, Vec<u64>>, kernel: &'k dyn KernelInfo) -> Self {
        Stacks { addresses, kernel }
    }

    /// The frames of a `kstack` value (stack id in the low half, frame limit in the high half), leaf first;
    /// `with_offset` adds `+offset` as bpftrace's text output does.
    fn frames(&self, raw: u64, with_offset: bool) -> Vec<String> {
        let limit = (raw >> 32) as usize;
        let Some(addresses) = self.addresses.get(&(raw as u32)) else { return vec!["[unknown]".to_string()] };
        let shown = if limit == 0 { addresses.len() } else { limit.min(addresses.len()) };
        addresses[..shown]
            .iter()
            .map(|address| match self.kernel.symbolize(*address) {
                Some(symbol) if with_offset && symbol.offset != 0 => format!("{}+{}", symbol.name, symbol.offset),
                Some(symbol) => symbol.name,
                None => format!("0x{address:x}"),
            })
            .collect()
    }

    /// Replaces the stack key fields at `columns` with bpftrace's multi-line layout.
    pub(super) fn render_keys(&self, snapshot: &mut Snapshot, columns: &[usize]) {
        for row in &mut snapshot.rows {
            for &column in columns {
                if let Some(field) = row.key.get_mut(column) {
                    if let FieldValue::Uint(raw) = *field {
                        let lines: String =
                            self.frames(raw, true).iter().map(|frame| format!("{FRAME_INDENT}{frame}\n")).collect();
                        *field = FieldValue::Str(format!("\n{lines}"));
                    }
                }
            }
        }
    }

    /// Folded lines for flame graphs: the other key fields, then the frames root first, then the value.
    /// Rows whose value is not a single number (histograms, averages) are left out.
    pub(super) fn folded(&self, snapshot: &Snapshot, columns: &[usize], symbols: &dyn Symbolizer) -> String {
        let mut out = String::new();
        for row in &snapshot.rows {
            let AggValue::Scalar(value) = &row.value else { continue };
            let mut parts = Vec::new();
            for (index, field) in row.key.iter().enumerate() {
                match field {
                    FieldValue::Uint(raw) if columns.contains(&index) => {
                        parts.extend(self.frames(*raw, false).into_iter().rev())
                    }
                    other => parts.push(other.to_text(symbols)),
                }
            }
            out.push_str(&format!("{} {}\n", parts.join(";"), value.to_text(symbols)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jitterlib::agg::{FieldLayout, HexSymbolizer, MapLayout, MapValue, Row, ValueFormat};
    use jitterlib::kernel::FixtureKernel;

    fn snapshot(rows: Vec<Row>) -> Snapshot {
        let key = FieldLayout { name: None, size: 8, format: ValueFormat::Unsigned };
        let value = FieldLayout { name: None, size: 8, format: ValueFormat::Unsigned };
        Snapshot { map: MapLayout { name: "@".into(), keys: vec![key], value: MapValue::Scalar(value) }, rows }
    }

    #[test]
    fn folded_puts_the_root_first_and_honours_the_frame_limit() {
        let kernel = FixtureKernel::bundled();
        // Addresses the fixture cannot name print as hex, which keeps the test independent of its symbols.
        let stacks = Stacks::from_addresses(HashMap::from([(7, vec![0x10, 0x20, 0x30])]), &kernel);
        let rows = vec![
            Row { key: vec![FieldValue::Uint(7)], value: AggValue::Scalar(FieldValue::Uint(5)) },
            Row { key: vec![FieldValue::Uint(2 << 32 | 7)], value: AggValue::Scalar(FieldValue::Uint(3)) },
            Row { key: vec![FieldValue::Uint(9)], value: AggValue::Scalar(FieldValue::Uint(1)) },
        ];
        let folded = stacks.folded(&snapshot(rows.clone()), &[0], &HexSymbolizer);
        assert_eq!(folded, "0x30;0x20;0x10 5\n0x20;0x10 3\n[unknown] 1\n");
        let mut text = snapshot(rows);
        stacks.render_keys(&mut text, &[0]);
        assert_eq!(text.rows[1].key[0], FieldValue::Str("\n        0x10\n        0x20\n".into()));
    }
}
