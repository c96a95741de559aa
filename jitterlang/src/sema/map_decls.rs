//! `let @m = hash(N);`: bpftrace 0.27's map declarations, which choose the BPF map type of a map and how many
//! keys it holds. A declared `lruhash` / `percpulruhash` map evicts its least recently used key to make room for a
//! new one, so its updates never fail for want of room (nothing is counted as `map_full`); `hash` / `percpuhash`
//! refuse new keys once full, counted as `map_full` as for every other map.

use crate::ast::MapDecl;
use crate::diag::{Code, Diagnostic};
use crate::ir::{DeclaredMap, MapInfo};
use jitterlib::agg::MapValue;
use jitterlib::maps::MapKind;

/// The map types a declaration may name, as bpftrace spells them.
const DECLARED_KINDS: [(&str, MapKind); 4] = [
    ("hash", MapKind::Hash),
    ("lruhash", MapKind::LruHash),
    ("percpuhash", MapKind::PerCpuHash),
    ("percpulruhash", MapKind::LruPerCpuHash),
];

/// Most keys a declaration may ask for: what a BPF map's `max_entries` holds.
const MAX_DECLARED_KEYS: u64 = u32::MAX as u64;

/// Applies each declaration to the map of its name: errors for a map type that does not fit what the map holds,
/// a warning for a declared map the script never uses (as bpftrace warns).
pub(super) fn apply(
    decls: &[MapDecl],
    maps: &mut [MapInfo],
    diagnostics: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) {
    for (index, decl) in decls.iter().enumerate() {
        if let Some(earlier) = decls[..index].iter().find(|earlier| earlier.name == decl.name) {
            diagnostics.push(
                Diagnostic::new(Code::MapConflict, decl.span, format!("`{}` is declared twice", decl.name))
                    .with_related(earlier.span, "first declared here")
                    .with_hint("keep one declaration"),
            );
            continue;
        }
        let Some(declared) = declared_map(decl, diagnostics) else { continue };
        let Some(info) = maps.iter_mut().find(|info| info.layout.name == decl.name) else {
            warnings.push(
                Diagnostic::warning(Code::UnusedMap, decl.span, format!("`{}` is declared but never used", decl.name))
                    .with_hint("remove the declaration, or assign the map in a probe"),
            );
            continue;
        };
        if let Some(problem) = misfit(&decl.name, &info.layout.value, declared.kind) {
            diagnostics.push(Diagnostic::new(Code::MapConflict, decl.kind_span, problem.0).with_hint(problem.1));
            continue;
        }
        info.declared = Some(declared);
    }
}

/// The map type and size a declaration names, if valid.
fn declared_map(decl: &MapDecl, diagnostics: &mut Vec<Diagnostic>) -> Option<DeclaredMap> {
    let Some((_, kind)) = DECLARED_KINDS.iter().find(|(name, _)| *name == decl.kind) else {
        let names: Vec<String> = DECLARED_KINDS.iter().map(|(name, _)| format!("`{name}`")).collect();
        diagnostics.push(
            Diagnostic::new(Code::UnknownType, decl.kind_span, format!("unknown map type `{}`", decl.kind))
                .with_hint(format!("declare a map as one of {} (as bpftrace 0.27)", names.join(", "))),
        );
        return None;
    };
    if !(1..=MAX_DECLARED_KEYS).contains(&decl.size) {
        diagnostics.push(
            Diagnostic::new(Code::Limit, decl.size_span, format!("a map holds 1 to {MAX_DECLARED_KEYS} keys"))
                .with_hint(format!("e.g. `let {} = {}(1024);`", decl.name, decl.kind)),
        );
        return None;
    }
    Some(DeclaredMap { kind: *kind, keys: decl.size as u32 })
}

/// Why map `name` holding `value` cannot be of type `kind`: the message and the hint.
fn misfit(name: &str, value: &MapValue, kind: MapKind) -> Option<(String, &'static str)> {
    let per_cpu = matches!(kind, MapKind::PerCpuHash | MapKind::LruPerCpuHash);
    match value {
        MapValue::Agg { kind: agg, .. } if agg.is_histogram() => Some((
            format!(
                "`{name}` is a histogram: jl keeps each of its buckets as a key, so a declared size cannot bound it"
            ),
            "leave the declaration out; `config = { max_map_keys = N }` or `jl --map-keys N` sizes every map",
        )),
        MapValue::Agg { .. } if !per_cpu => Some((
            format!("`{name}` holds an aggregation, which needs a per-CPU map"),
            "declare it `percpuhash(N)` or `percpulruhash(N)` (as bpftrace requires too)",
        )),
        MapValue::Scalar(_) | MapValue::Tuple(_) if per_cpu => Some((
            format!("`{name}` holds plain values, which go in a map shared by every CPU"),
            "declare it `hash(N)` or `lruhash(N)` (as bpftrace requires too)",
        )),
        _ => None,
    }
}
