//! `--flamegraph FILE`: an SVG flame graph (inferno) of every map keyed by a stack (`kstack`, `ustack`), written at exit.

use super::RunError;
use jitterlib::agg::{render_folded, Snapshot, Symbolizer};
use std::path::Path;

/// Writes the flame graph of the stack maps among `snapshots` to `path`; false when there were no stacks.
pub(super) fn write(path: &Path, snapshots: &[Snapshot], symbols: &dyn Symbolizer) -> Result<bool, RunError> {
    let folded: String =
        snapshots.iter().filter(|snapshot| snapshot.has_stacks()).map(|s| render_folded(s, symbols)).collect();
    if folded.is_empty() {
        return Ok(false);
    }
    let file = std::fs::File::create(path)?;
    let mut options = inferno::flamegraph::Options::default();
    options.title = "jl: kernel stacks".to_string();
    inferno::flamegraph::from_lines(&mut options, folded.lines(), std::io::BufWriter::new(file))?;
    Ok(true)
}
