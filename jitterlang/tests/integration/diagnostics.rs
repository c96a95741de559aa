//! Diagnostic snapshots: each script in `tests/diagnostics/` must fail to compile with exactly the
//! rendered error in its `.err` file (code, location, caret, hint).

use crate::support::{assert_no_mismatch, check_snapshot, data_dir, scripts};
use jitterlib::kernel::FixtureKernel;

#[test]
fn errors_match_snapshots() {
    let kernel = FixtureKernel::bundled();
    let mut mismatches = Vec::new();
    for script in scripts(&data_dir("diagnostics")) {
        let source = std::fs::read_to_string(&script).expect("read script");
        let name = script.file_name().and_then(|n| n.to_str()).unwrap_or("script");
        let rendered = match jitterlang::compile(&source, &kernel) {
            Ok(_) => format!("{name} compiled, but it must not\n"),
            Err(diagnostics) => diagnostics.render(name, &source),
        };
        mismatches.extend(check_snapshot(&script, "err", &rendered));
    }
    assert_no_mismatch(mismatches);
}
