//! The compatibility corpus `tests/compat/`: one bpftrace-0.27 script per documented feature of its language
//! (each proved valid bpftrace by `tools/compat-bpftrace`). Every entry compiles unless `tests/compat/UNSUPPORTED`
//! lists it (compiled for this host's kernel), and a listed one must still fail, so the list stays honest; an entry
//! with a `NAME.out` (bpftrace 0.27.1's stdout) or a `NAME.json.out` (its stdout with `-q -f json`), both written by
//! `tools/compat-bpftrace --outputs`, is also run and must print the same bytes.

use jitterlang::CompileOptions;
use jitterlib::kernel::LiveKernel;
use jitterlib::testing::can_trace;
use std::path::PathBuf;

fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/compat"))
}

/// The corpus: (name, source), by name.
fn entries() -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = std::fs::read_dir(corpus_dir())
        .expect("read tests/compat")
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "bt"))
        .map(|path| {
            let name = path.file_stem().expect("a name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).expect("read a corpus entry"))
        })
        .collect();
    entries.sort();
    entries
}

/// The names `UNSUPPORTED` lists.
fn unsupported() -> Vec<String> {
    let text = std::fs::read_to_string(corpus_dir().join("UNSUPPORTED")).expect("read UNSUPPORTED");
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_whitespace().next().map(String::from))
        .collect()
}

/// Options as `tools/compat-bpftrace` gives bpftrace: `--unsafe` and the positional argument 1.
fn options() -> CompileOptions {
    CompileOptions { args: vec!["1".into()], unsafe_actions: true, ..CompileOptions::default() }
}

#[test]
fn corpus_compiles_except_the_listed_entries() {
    // This host's kernel, as `jl` would compile for it: the corpus uses tracepoints the bundled fixture lacks.
    let kernel = LiveKernel::new();
    let unsupported = unsupported();
    let entries = entries();
    let mut wrong = Vec::new();
    for (name, source) in &entries {
        let listed = unsupported.contains(name);
        match (jitterlang::compile_with(source, &kernel, &options()), listed) {
            (Ok(_), true) => wrong.push(format!("{name} compiles now: take it off tests/compat/UNSUPPORTED")),
            (Err(error), false) => wrong.push(format!("{name} does not compile:\n{}", error.render(name, source))),
            _ => {}
        }
    }
    for name in unsupported.iter().filter(|name| !entries.iter().any(|(entry, _)| entry == *name)) {
        wrong.push(format!("UNSUPPORTED lists {name}, which is not in the corpus"));
    }
    let passing = entries.len() - unsupported.len();
    eprintln!("compat corpus: jl compiles {passing} of {} bpftrace 0.27 entries", entries.len());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn corpus_entries_print_what_bpftrace_prints() {
    if !can_trace("corpus_entries_print_what_bpftrace_prints") {
        return;
    }
    let mut wrong = Vec::new();
    let mut compared = 0;
    for (name, source) in entries() {
        for (suffix, flags) in [("out", &[][..]), ("json.out", &["-q", "-f", "json"][..])] {
            let Ok(expected) = std::fs::read_to_string(corpus_dir().join(format!("{name}.{suffix}"))) else {
                continue;
            };
            let output = std::process::Command::new(env!("CARGO_BIN_EXE_jl"))
                .args(flags)
                .args(["--unsafe", "-e", &source, "1"])
                .output()
                .expect("run jl");
            let printed = String::from_utf8_lossy(&output.stdout);
            if !output.status.success() || printed != expected {
                wrong.push(format!("{name}.{suffix}: expected\n{expected:?}\nprinted\n{printed:?}"));
            }
            compared += 1;
        }
    }
    eprintln!("compat corpus: {compared} outputs compared with bpftrace 0.27.1's");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
