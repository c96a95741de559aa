//! Folded stacks (`frame;frame;frame count`, outermost frame first), the input of flame graph tools such as
//! inferno and Brendan Gregg's flamegraph.pl.

use super::value::{AggValue, FieldValue, Snapshot, Symbolizer};

/// One line per row whose key holds a kernel stack and whose value is a number. Other key fields come first as
/// extra frames (e.g. `comm`), so `@[comm, kstack] = count()` folds per task.
pub fn render_folded(snapshot: &Snapshot, symbols: &dyn Symbolizer) -> String {
    let mut out = String::new();
    for row in &snapshot.rows {
        let AggValue::Scalar(value) = &row.value else { continue };
        let Some(count) = weight(value) else { continue };
        let frames: Vec<String> = row
            .key
            .iter()
            .map(|part| match part.frame_names(symbols) {
                Some(frames) => folded_frames(frames),
                None => part.to_key_text(symbols).replace(';', ":"),
            })
            .filter(|frame| !frame.is_empty())
            .collect();
        if !frames.is_empty() {
            out.push_str(&format!("{} {count}\n", frames.join(";")));
        }
    }
    out
}

/// A stack's frame names (innermost first, as stack maps list them) as `outer;...;inner`.
pub(crate) fn folded_frames(frames: Vec<String>) -> String {
    frames.iter().rev().map(|frame| frame.replace(';', ":")).collect::<Vec<_>>().join(";")
}

fn weight(value: &FieldValue) -> Option<u64> {
    match value {
        FieldValue::Uint(v) | FieldValue::Hex(v) => Some(*v),
        FieldValue::Int(v) | FieldValue::Duration(v) => u64::try_from(*v).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agg::layout::{FieldLayout, MapLayout, MapValue, ValueFormat};
    use crate::agg::value::{HexSymbolizer, Row};
    use crate::agg::{AggKind, StackKind};

    #[test]
    fn folds_outermost_first_with_other_keys_in_front() {
        let snapshot = Snapshot {
            map: MapLayout {
                name: "@".into(),
                keys: vec![FieldLayout::string(16), FieldLayout::integer(ValueFormat::Stack(StackKind::KERNEL))],
                value: MapValue::Agg { kind: AggKind::Count, format: ValueFormat::Unsigned },
                keys_in_programs: false,
            },
            rows: vec![Row {
                key: vec![FieldValue::Str("ksoftirqd/0".into()), FieldValue::Stack(vec![0x10, 0x20, 0x30])],
                value: AggValue::Scalar(FieldValue::Uint(7)),
            }],
        };
        assert_eq!(render_folded(&snapshot, &HexSymbolizer), "ksoftirqd/0;0x30;0x20;0x10 7\n");
    }
}
