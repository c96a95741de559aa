//! C preprocessor lines (`#include`, `#define`): jl reads none of them (kernel types come from BTF), so a name a
//! `#define` gives is unknown where the script uses it. Its diagnostic then points at the `#define` and says what
//! to write instead.

use crate::diag::{Code, Diagnostic, Span};

/// For an unknown identifier that a `#define` line of `source` names: the hint says the line is not read and how
/// to write the constant in jl, and the diagnostic points at the line. Other diagnostics are returned as they are.
pub fn explain_defines(diagnostic: Diagnostic, source: &str) -> Diagnostic {
    if diagnostic.code != Code::UnknownIdent {
        return diagnostic;
    }
    let Some(name) = diagnostic.message.strip_prefix("unknown identifier `").and_then(|rest| rest.strip_suffix('`'))
    else {
        return diagnostic;
    };
    let Some((span, value)) = define_of(source, name) else { return diagnostic };
    let name = name.to_string();
    let hint = format!(
        "jl has no C preprocessor and does not read `#define` lines: write `macro {name}() {{ {value} }}` and use \
         `{name}()`"
    );
    let mut diagnostic = diagnostic.with_related(span, format!("`{name}` is defined here, in a line jl does not read"));
    diagnostic.hint = Some(hint.into());
    diagnostic
}

/// The span of the line `#define NAME VALUE` in `source` and its value (`1` when it has none).
fn define_of(source: &str, name: &str) -> Option<(Span, String)> {
    let mut start = 0;
    for line in source.split_inclusive('\n') {
        let text = line.trim_end();
        let directive = text.trim_start().strip_prefix('#').map(str::trim_start);
        if let Some(rest) = directive.and_then(|directive| directive.strip_prefix("define ")).map(str::trim_start) {
            let (defined, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, "1"));
            if defined == name {
                return Some((Span { start, end: start + text.len() }, value.trim().to_string()));
            }
        }
        start += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::define_of;

    #[test]
    fn finds_the_define_of_a_name_among_other_lines() {
        let source = "#include <linux/sched.h>\n#define LIMIT 5\nBEGIN { print(LIMIT); }\n";
        let (span, value) = define_of(source, "LIMIT").expect("the define");
        assert_eq!((&source[span.start..span.end], value.as_str()), ("#define LIMIT 5", "5"));
        assert_eq!(define_of("#define FLAG\n", "FLAG").map(|(_, value)| value), Some("1".to_string()));
        assert_eq!(define_of(source, "LIM"), None);
    }
}
