//! Golden tests: the disassembly of each script in `tests/golden/` against the checked-in kernel fixture.
//! Pure functions of the script and the fixture, so they hold on any machine.

use crate::support::{assert_no_mismatch, check_snapshot, data_dir, golden_header, scripts};
use jitterlang::codegen::Compiled;
use jitterlang::diag::Diagnostics;
use jitterlang::CompileOptions;
use jitterlib::kernel::{Availability, FixtureKernel, FunctionProbes};

/// A golden script whose first line is `// jl --unsafe` is compiled as `jl --unsafe` would (signal, system).
fn compile(source: &str, kernel: &FixtureKernel) -> Result<Compiled, Diagnostics> {
    let options = CompileOptions { unsafe_actions: source.starts_with("// jl --unsafe"), ..CompileOptions::default() };
    jitterlang::compile_with(source, kernel, &options)
}

/// The fixture kernel a golden script is compiled for: the bundled one (whose host allows neither fentry nor
/// kprobes), or with the header `// kernel: fentry` one allowing both, with `// kernel: kprobe` kprobes only.
fn kernel_for(source: &str) -> FixtureKernel {
    let kernel = FixtureKernel::bundled();
    let refused = || Availability::Unavailable("refused by the golden test's kernel".into());
    match golden_header(source, "kernel") {
        Some("fentry") => kernel
            .with_function_probes(FunctionProbes { fentry: Availability::Available, kprobe: Availability::Available }),
        Some("kprobe") => {
            kernel.with_function_probes(FunctionProbes { fentry: refused(), kprobe: Availability::Available })
        }
        _ => kernel,
    }
}

/// The disassembly a golden script pins: every program's, or with the header `// show: SECTION` only the
/// programs in that ELF section (`fentry/ip_output`), so a probe with many points pins one.
fn pinned_disassembly(source: &str, mut compiled: Compiled) -> String {
    if let Some(section) = golden_header(source, "show") {
        compiled.programs.retain(|unit| unit.attach.section_name() == section);
    }
    compiled.disassembly()
}

#[test]
fn disassembly_matches_snapshots() {
    let mut mismatches = Vec::new();
    for script in scripts(&data_dir("golden")) {
        let source = std::fs::read_to_string(&script).expect("read script");
        let compiled = compile(&source, &kernel_for(&source)).unwrap_or_else(|diagnostics| {
            panic!("{} does not compile:\n{}", script.display(), diagnostics.render("golden", &source))
        });
        mismatches.extend(check_snapshot(&script, "disasm", &pinned_disassembly(&source, compiled)));
    }
    assert_no_mismatch(mismatches);
}

#[test]
fn objects_parse_back_with_aya_obj() {
    for script in scripts(&data_dir("golden")) {
        let source = std::fs::read_to_string(&script).expect("read script");
        let compiled = compile(&source, &kernel_for(&source)).expect("compiles");
        let object = aya_obj::Object::parse(&compiled.object)
            .unwrap_or_else(|e| panic!("{}: aya-obj rejects the object: {e}", script.display()));
        assert_eq!(object.programs.len(), compiled.programs.len(), "{}", script.display());
        assert_eq!(object.maps.len(), compiled.maps.len(), "{}", script.display());
    }
}

#[test]
fn bundled_scripts_compile_or_name_their_missing_requirement() {
    let kernel = FixtureKernel::bundled();
    for script in jitterlang::scripts::BUNDLED {
        match jitterlang::compile(script.source, &kernel) {
            Ok(compiled) => assert!(!compiled.programs.is_empty(), "{}", script.name),
            Err(diagnostics) => {
                // Scripts for modules the fixture kernel lacks (ip_vs) must say so in their header, and fail only
                // because the kernel lacks the target.
                let rendered = diagnostics.render(script.name, script.source);
                assert!(script.source.contains("// Requires:"), "{} does not compile:\n{rendered}", script.name);
                assert!(
                    diagnostics.0.iter().all(|d| d.code == jitterlang::diag::Code::MissingTarget),
                    "{} fails for another reason than a missing kernel target:\n{rendered}",
                    script.name
                );
            }
        }
    }
}
