//! Golden tests: the disassembly of each script in `tests/golden/` against the checked-in kernel fixture.
//! Pure functions of the script and the fixture, so they hold on any machine.

use crate::support::{assert_no_mismatch, check_snapshot, data_dir, golden_header, scripts};
use jitterlang::codegen::Compiled;
use jitterlang::diag::Diagnostics;
use jitterlang::CompileOptions;
use jitterlib::agg::{MapValue, ValueFormat};
use jitterlib::kernel::{
    Availability, FixtureKernel, FunctionProbes, KernelSnapshot, Member, MemberKind, SnapshotSymbol,
};

/// A golden script whose first line is `// jl --unsafe` is compiled as `jl --unsafe` would (signal, system); with
/// the header `// pid namespace: DEV:INO` as jl run in that pid namespace.
fn compile(source: &str, kernel: &FixtureKernel) -> Result<Compiled, Diagnostics> {
    let pid_namespace = golden_header(source, "pid namespace").map(|found| {
        let (dev, ino) = found.split_once(':').expect("DEV:INO");
        jitterlang::PidNamespace { dev: dev.parse().expect("DEV"), ino: ino.parse().expect("INO") }
    });
    let options = CompileOptions {
        unsafe_actions: source.starts_with("// jl --unsafe"),
        pid_namespace,
        ..CompileOptions::default()
    };
    jitterlang::compile_with(source, kernel, &options)
}

/// The fixture kernel a golden script is compiled for: the bundled one (whose host allows neither fentry nor
/// kprobes), or with the header `// kernel: fentry` one allowing both, with `// kernel: kprobe` kprobes only,
/// with `// kernel: ipvs-kthreads` [`ipvs_kthreads`].
fn kernel_for(source: &str) -> FixtureKernel {
    let refused = || Availability::Unavailable("refused by the golden test's kernel".into());
    let kprobes_only = || FunctionProbes { fentry: refused(), kprobe: Availability::Available };
    match golden_header(source, "kernel") {
        Some("fentry") => FixtureKernel::bundled()
            .with_function_probes(FunctionProbes { fentry: Availability::Available, kprobe: Availability::Available }),
        Some("kprobe") => FixtureKernel::bundled().with_function_probes(kprobes_only()),
        Some("ipvs-kthreads") => ipvs_kthreads().with_function_probes(kprobes_only()),
        _ => FixtureKernel::bundled(),
    }
}

/// The bundled fixture as Debian 13's 6.12.117 with ip_vs loaded, for `ipvs_est()` on kernels with estimator
/// kthreads: the walk function that kernel has (`ip_vs_chain_estimation`, its `ip_vs_tick_estimation` is
/// inlined) and the BTF offsets of the `netns` path, as `jl -d` printed them there (tests/vm/test-ipvs-kthread).
fn ipvs_kthreads() -> FixtureKernel {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../jitterlib/fixtures/kernel-6.18.json");
    let text = std::fs::read_to_string(path).expect("read the bundled fixture");
    let mut snapshot: KernelSnapshot = serde_json::from_str(&text).expect("the bundled fixture parses");
    snapshot.release = "6.12.117+deb13-amd64".into();
    snapshot.modules.push("ip_vs".into());
    snapshot.symbols.push(SnapshotSymbol {
        name: "ip_vs_chain_estimation".into(),
        address: 0xffff_ffff_c0a1_5ed0,
        size: 0x230,
        module: Some("ip_vs".into()),
    });
    let member = |offset: u32, size: u32, type_name: &str, kind: MemberKind| Member {
        offset,
        size,
        bit_offset: None,
        bit_width: None,
        type_name: type_name.into(),
        kind,
    };
    let pointer = |offset: u32, target: Option<&str>| {
        let type_name = target.map_or("void *".to_string(), |target| format!("struct {target} *"));
        member(offset, 8, &type_name, MemberKind::Pointer { target: target.map(String::from) })
    };
    let offsets = [
        ("task_struct", "worker_private", pointer(2648, None)),
        ("kthread", "data", pointer(24, None)),
        ("ip_vs_est_kt_data", "ipvs", pointer(0, Some("netns_ipvs"))),
        ("netns_ipvs", "net", pointer(2024, Some("net"))),
        ("net", "ns.inum", member(136, 4, "unsigned int", MemberKind::Int { signed: false })),
    ];
    for (struct_name, name, layout) in offsets {
        snapshot.structs.entry(struct_name.into()).or_default().insert(name.into(), layout);
    }
    FixtureKernel::from_snapshot(snapshot)
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
fn bundled_maps_of_durations_carry_no_unit_in_their_name() {
    // A duration prints with its own units (`1.5ms`), so `@total_ns` would print microseconds and milliseconds.
    let kernel = FixtureKernel::bundled();
    for script in jitterlang::scripts::BUNDLED {
        let Ok(compiled) = jitterlang::compile(script.source, &kernel) else { continue };
        for (_, layout) in &compiled.user_maps {
            let durations = matches!(layout.value, MapValue::Agg { format: ValueFormat::Duration, .. });
            let unit = ["_ns", "_us", "_ms"].iter().any(|unit| layout.name.ends_with(unit));
            assert!(!(durations && unit), "{}: {} holds durations printed with units", script.name, layout.name);
        }
    }
}

#[test]
fn timer_callbacks_names_its_maps_after_what_they_hold() {
    let kernel = FixtureKernel::bundled();
    let script = jitterlang::scripts::find("timer_callbacks").expect("bundled");
    let compiled = jitterlang::compile(script.source, &kernel).expect("compiles");
    let names: Vec<&str> = compiled.user_maps.iter().map(|(_, layout)| layout.name.as_str()).collect();
    // @durations is one histogram of every callback's run time, not of the slowest.
    assert_eq!(names, ["@runs", "@total_time", "@durations"]);
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
