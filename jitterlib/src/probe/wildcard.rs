//! Probe paths with wildcards (`tracepoint:syscalls:sys_enter_get*`), expanded into one probe per match.

use super::{ProbeError, ProbeErrorKind, ProbeSpec};
use crate::glob::glob;
use crate::kernel::KernelInfo;

/// More matches than this is refused: each is a program to load, attach and detach.
pub const MAX_WILDCARD_MATCHES: usize = 512;

/// The specs `spec` stands for: itself, or for a `tracepoint:CAT:NAME` path with `*`/`?` in CAT or NAME, one
/// spec per matching tracepoint of the kernel (sorted), and for a `uprobe:BINARY:FUNCTION` path (or
/// `uretprobe:`) with them in FUNCTION, one spec per matching function of the binary, and for a `usdt:` path
/// with them in PROVIDER or NAME, one per matching probe. No match is an error naming the pattern.
pub fn expand(spec: &ProbeSpec, kernel: &dyn KernelInfo) -> Result<Vec<ProbeSpec>, ProbeError> {
    let ProbeSpec::Path(parts) = spec else { return Ok(vec![spec.clone()]) };
    if let Some(matches) = super::usdt::expand(parts)? {
        return within_limit(matches, &parts[2..].join(":"), "USDT probes", 2);
    }
    let [kind, first, second] = parts.as_slice() else { return Ok(vec![spec.clone()]) };
    let wild = |part: &str| part.contains(['*', '?']);
    let user = matches!(super::kind(kind).map(|kind| kind.name), Some("uprobe" | "uretprobe"));
    let (matches, what, position) = if kind == "tracepoint" && (wild(first) || wild(second)) {
        let matches = kernel
            .tracepoints()?
            .into_iter()
            .filter(|(cat, tp)| glob(first, cat) && glob(second, tp))
            .map(|(cat, tp)| ProbeSpec::Path(vec![kind.clone(), cat, tp]))
            .collect::<Vec<_>>();
        (matches, "tracepoints", if wild(second) && !wild(first) { 2 } else { 1 })
    } else if user && wild(second) {
        let (path, functions) = super::user_functions(first, second)?;
        let matches =
            functions.into_iter().map(|function| ProbeSpec::Path(vec![kind.clone(), path.clone(), function])).collect();
        (matches, "functions", 2)
    } else {
        return Ok(vec![spec.clone()]);
    };
    if matches.is_empty() {
        let (error, hint) = if user {
            (format!("no function of `{first}` matches `{second}`"), format!("`jl -l '{kind}:{first}:*'` lists them"))
        } else {
            (
                format!("no tracepoint of this kernel matches `{first}:{second}`"),
                format!("`jl -l 'tracepoint:{first}:*'` lists what there is"),
            )
        };
        return Err(ProbeError::new(ProbeErrorKind::MissingTarget, error).with_hint(hint).at(position));
    }
    within_limit(matches, &format!("{first}:{second}"), what, position)
}

/// `matches` of `pattern`, or an error when there are more than [`MAX_WILDCARD_MATCHES`].
fn within_limit(
    matches: Vec<ProbeSpec>,
    pattern: &str,
    what: &str,
    position: usize,
) -> Result<Vec<ProbeSpec>, ProbeError> {
    if matches.len() > MAX_WILDCARD_MATCHES {
        return Err(ProbeError::new(
            ProbeErrorKind::BadSpec,
            format!("`{pattern}` matches {} {what}, more than {MAX_WILDCARD_MATCHES}", matches.len()),
        )
        .with_hint("narrow the pattern (each match is one program to load and attach)")
        .at(position));
    }
    Ok(matches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::FixtureKernel;

    #[test]
    fn tracepoint_patterns_expand_to_every_match() {
        let kernel = FixtureKernel::bundled();
        let path = |text: &str| ProbeSpec::Path(text.split(':').map(str::to_string).collect());
        let expanded = expand(&path("tracepoint:irq:softirq_*"), &kernel).expect("matches");
        let names: Vec<_> = expanded.iter().map(|spec| format!("{spec:?}")).collect();
        assert_eq!(expanded.len(), 3, "{names:?}");
        assert_eq!(expand(&path("tracepoint:irq:softirq_entry"), &kernel).expect("plain").len(), 1);
        let none = expand(&path("tracepoint:irq:nothing_*"), &kernel).expect_err("no match");
        assert_eq!(none.kind, ProbeErrorKind::MissingTarget);
    }
}
