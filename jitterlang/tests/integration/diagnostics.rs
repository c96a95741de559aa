//! Diagnostic snapshots: each script in `tests/diagnostics/` must fail to compile with exactly the
//! rendered error in its `.err` file (code, location, caret, hint); each in `tests/warnings/` must compile with
//! exactly the warnings of its `.warn` file.

use crate::support::{assert_no_mismatch, check_snapshot, data_dir, scripts};
use jitterlang::codegen::Compiled;
use jitterlang::diag::Diagnostics;
use jitterlib::kernel::FixtureKernel;

/// Compiles each script in `tests/DIR` and compares what `render` makes of the result (given the script's file
/// name and source) with its `.EXT` snapshot. A result of the wrong kind (`render` says `Err`) is a failure that
/// `JL_BLESS=1` cannot turn into a snapshot.
fn check_compiled_snapshots(
    dir: &str,
    ext: &str,
    render: impl Fn(&str, &str, Result<Compiled, Diagnostics>) -> Result<String, String>,
) {
    let kernel = FixtureKernel::bundled();
    let mut mismatches = Vec::new();
    for script in scripts(&data_dir(dir)) {
        let source = std::fs::read_to_string(&script).expect("read script");
        let name = script.file_name().and_then(|n| n.to_str()).unwrap_or("script");
        match render(name, &source, jitterlang::compile(&source, &kernel)) {
            Ok(rendered) => mismatches.extend(check_snapshot(&script, ext, &rendered)),
            Err(wrong) => mismatches.push(format!("{}: {wrong} (not blessed)", script.display())),
        }
    }
    assert_no_mismatch(mismatches);
}

#[test]
fn errors_match_snapshots() {
    check_compiled_snapshots("diagnostics", "err", |name, source, result| match result {
        Ok(_) => Err(format!("{name} compiled, but it must not")),
        Err(diagnostics) => Ok(diagnostics.render(name, source)),
    });
}

/// Each script in `tests/warnings/` compiles, with exactly the warnings of its `.warn` file.
#[test]
fn warnings_match_snapshots() {
    check_compiled_snapshots("warnings", "warn", |name, source, result| match result {
        Ok(compiled) => Ok(compiled.warnings.render(name, source)),
        Err(diagnostics) => Err(format!("does not compile, but it must:\n{}", diagnostics.render(name, source))),
    });
}

#[test]
fn loops_with_a_way_out_have_no_warning() {
    let kernel = FixtureKernel::bundled();
    let bodies =
        ["if ($n > 9) { break; }", "if ($n > 9) { return; }", "if ($n > 9) { exit(); }", "unroll(2) { return; }"];
    for body in bodies {
        let source = format!("BEGIN {{ $n = 0; while (1) {{ $n++; {body} }} exit(); }}");
        let compiled = jitterlang::compile(&source, &kernel).unwrap_or_else(|d| panic!("{}", d.render("s", &source)));
        assert_eq!(compiled.warnings.render("s", &source), "", "{source}");
    }
}
