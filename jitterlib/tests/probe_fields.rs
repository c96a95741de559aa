//! Each typed probe's fields are written in three places: its registry entry (`KIND.fields`, what `jl -l` and
//! completion list), the resolved probe's `fields()` (what scripts can read) and its page in `book/src/probes/`.
//! These tests hold the three together, against the bundled kernel fixture.

use std::collections::BTreeSet;
use std::path::Path;

use jitterlib::kernel::{Availability, FixtureKernel, FunctionProbes};
use jitterlib::probe::{resolve, FieldType, Probe, ProbeKind, ProbeSpec, REGISTRY};

/// The fixture with kprobes, so that `ipvs_est()` resolves (to the kthread walk of Linux >= 6.2).
fn kernel() -> FixtureKernel {
    let refused = Availability::Unavailable("not in this test".into());
    FixtureKernel::bundled().with_function_probes(FunctionProbes { fentry: refused, kprobe: Availability::Available })
}

/// Kinds the fixture cannot resolve: its host has no ip_vs module, so no IPVS estimator of either generation.
const NOT_ON_THE_FIXTURE: &[&str] = &["ipvs_est"];

/// Every typed probe kind with fields.
fn typed_kinds() -> impl Iterator<Item = &'static ProbeKind> {
    REGISTRY.iter().copied().filter(|kind| !kind.fields.is_empty() && !kind.syntax.contains(':'))
}

/// Every typed probe kind with fields the fixture can resolve, resolved with no arguments.
fn typed_probes() -> Vec<(&'static ProbeKind, Box<dyn Probe>)> {
    let kernel = kernel();
    typed_kinds()
        .filter_map(|kind| {
            let spec = ProbeSpec::Typed { name: kind.name.into(), args: vec![] };
            match resolve(&spec, &kernel) {
                Ok(probe) => Some((kind, probe)),
                Err(_) if NOT_ON_THE_FIXTURE.contains(&kind.name) => None,
                Err(error) => panic!("{}() resolves: {error}", kind.name),
            }
        })
        .collect()
}

/// The names a `fields` entry or a book row stands for: `culprit2, culprit3` is two.
fn names(written: &str) -> impl Iterator<Item = String> + '_ {
    written.split(',').map(|name| name.trim().trim_matches('`').to_string())
}

fn resolved_names(probe: &dyn Probe) -> BTreeSet<String> {
    probe.fields().iter().map(|field| field.name.clone()).collect()
}

/// The word the book's tables use for a field's type.
fn type_word(ty: &FieldType) -> &'static str {
    match ty {
        FieldType::Duration => "duration",
        FieldType::KernelSymbol => "kernel symbol",
        FieldType::Str { .. } | FieldType::DataLocStr | FieldType::Name { .. } => "string",
        FieldType::Culprit => "culprit",
        FieldType::Enum { .. } => "enum",
        FieldType::Int { .. }
        | FieldType::ShortBytes { .. }
        | FieldType::Bytes { .. }
        | FieldType::Pointer { .. }
        | FieldType::Address => "integer",
    }
}

#[test]
fn the_registry_lists_the_fields_the_probes_offer() {
    let probes = typed_probes();
    assert!(probes.len() >= 7, "typed probes found: {}", probes.len());
    for (kind, probe) in probes {
        let listed: BTreeSet<String> = kind.fields.iter().flat_map(|(written, _)| names(written)).collect();
        let offered = resolved_names(probe.as_ref());
        let unlisted: Vec<&String> = offered.difference(&listed).collect();
        assert!(unlisted.is_empty(), "{}: fields offered but not in KIND.fields: {unlisted:?}", kind.name);
        // A listed field this kernel's probe lacks must say where it exists (`Linux < 6.2 only`).
        for (written, meaning) in kind.fields {
            if names(written).any(|name| !offered.contains(&name)) {
                assert!(meaning.contains("only"), "{}: `{written}` is not offered here and says not where", kind.name);
            }
        }
    }
}

/// The `| field | type | meaning |` rows of a book page: (names, type).
fn book_rows(page: &str) -> Vec<(Vec<String>, String)> {
    page.lines()
        .skip_while(|line| !line.starts_with("| field | type |"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (names(cells[1]).collect(), cells[2].to_string())
        })
        .collect()
}

/// The book page documenting `kind` (`softirq_delay()` is documented with `softirq()`): its name and text.
fn book_page(kind: &ProbeKind) -> (String, String) {
    let pages = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/probes");
    let candidates = [kind.name, kind.name.split('_').next().unwrap_or(kind.name)];
    let name = candidates
        .into_iter()
        .find(|name| pages.join(format!("{name}.md")).exists())
        .unwrap_or_else(|| panic!("{}() has no page in book/src/probes", kind.name));
    let page = std::fs::read_to_string(pages.join(format!("{name}.md"))).expect("read the book page");
    (name.to_string(), page)
}

#[test]
fn the_fixture_resolves_every_typed_probe_but_the_listed_ones() {
    let resolved: Vec<&str> = typed_probes().iter().map(|(kind, _)| kind.name).collect();
    let unresolved: Vec<&str> = typed_kinds().map(|kind| kind.name).filter(|name| !resolved.contains(name)).collect();
    assert_eq!(unresolved, NOT_ON_THE_FIXTURE);
}

#[test]
fn the_book_names_every_listed_field() {
    for kind in typed_kinds() {
        let (page_name, page) = book_page(kind);
        for (written, _) in kind.fields {
            for name in names(written) {
                assert!(
                    page.contains(&format!("`{name}`")),
                    "{page_name}.md does not name `{name}` of {}()",
                    kind.name
                );
            }
        }
    }
}

#[test]
fn the_book_documents_the_fields_the_probes_offer() {
    for (kind, probe) in typed_probes() {
        let (page_name, page) = book_page(kind);
        let rows = book_rows(&page);
        if rows.is_empty() {
            // A page without a table names each field in its text (hrtimer: "the same fields as timer").
            let unnamed: Vec<String> = resolved_names(probe.as_ref())
                .into_iter()
                .filter(|name| !page.contains(&format!("`{name}`")))
                .collect();
            assert!(unnamed.is_empty(), "{page_name}.md does not name {unnamed:?} of {}()", kind.name);
            continue;
        }
        let documented: BTreeSet<String> = rows.iter().flat_map(|(names, _)| names.clone()).collect();
        assert_eq!(documented, resolved_names(probe.as_ref()), "{page_name}.md's field table against {}()", kind.name);
        for field in probe.fields() {
            let (_, word) = rows.iter().find(|(names, _)| names.contains(&field.name)).expect("documented above");
            assert_eq!(word, type_word(&field.ty), "{page_name}.md: the type of `{}` of {}()", field.name, kind.name);
        }
    }
}
