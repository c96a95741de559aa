//! Bounds on nesting, checked before and during parsing, so that no input can exhaust the stack of the
//! recursive stages (the pest parser, lowering, type checking, code generation, dropping the tree).

use crate::diag::{Code, Diagnostic, Span};

/// The deepest nesting of brackets (`(`, `[`, `{`) plus runs of prefix operators (`-`, `!`, `~`) accepted.
pub const MAX_NESTING: usize = 64;

/// The most operators (infix, prefix and field access) one expression may have outside parentheses.
pub const MAX_OPERATORS: usize = 256;

/// The deepest parse tree accepted (nested `if` blocks delimited by `< >` are the one nesting the bracket
/// scan cannot see).
pub const MAX_TREE_DEPTH: usize = 256;

/// Scans the source, skipping strings and comments, and refuses nesting deeper than [`MAX_NESTING`].
pub fn check_nesting(source: &str) -> Result<(), Diagnostic> {
    let bytes = source.as_bytes();
    let (mut depth, mut prefix_run, mut at) = (0usize, 0usize, 0usize);
    while let Some(&byte) = bytes.get(at) {
        let next = bytes.get(at + 1).copied();
        match byte {
            b'"' => at = skip_string(bytes, at),
            b'#' => at = skip_until(bytes, at, b"\n"),
            b'/' if next == Some(b'/') => at = skip_until(bytes, at, b"\n"),
            b'/' if next == Some(b'*') => at = skip_until(bytes, at + 2, b"*/"),
            b' ' | b'\t' | b'\r' | b'\n' => at += 1,
            _ => {
                match byte {
                    b'-' | b'!' | b'~' => prefix_run += 1,
                    b'(' | b'[' | b'{' => (depth, prefix_run) = (depth + 1, 0),
                    b')' | b']' | b'}' => (depth, prefix_run) = (depth.saturating_sub(1), 0),
                    _ => prefix_run = 0,
                }
                if depth + prefix_run > MAX_NESTING {
                    return Err(too_deep(Span::new(at, at + 1)));
                }
                at += 1;
            }
        }
    }
    Ok(())
}

/// The error for input nested deeper than the limits.
pub fn too_deep(span: Span) -> Diagnostic {
    Diagnostic::new(Code::Limit, span, format!("the script nests more than {MAX_NESTING} levels deep"))
        .with_label("too deep here")
        .with_hint("split the expression with variables (`$a = ...;`) or flatten the nested blocks")
}

/// The error for an expression with more than [`MAX_OPERATORS`] operators.
pub fn too_many_operators(span: Span, count: usize) -> Diagnostic {
    Diagnostic::new(
        Code::Limit,
        span,
        format!("expression has {count} operators, more than the {MAX_OPERATORS} accepted"),
    )
    .with_hint("split the expression with variables (`$a = ...;`)")
}

/// The index just past the string starting at `start` (or the end of the source when it is unterminated).
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let mut at = start + 1;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'\\' => at += 2,
            b'"' => return at + 1,
            _ => at += 1,
        }
    }
    bytes.len()
}

/// The index just past the first `end` at or after `start` (or the end of the source).
fn skip_until(bytes: &[u8], start: usize, end: &[u8]) -> usize {
    bytes
        .get(start..)
        .and_then(|rest| rest.windows(end.len()).position(|window| window == end))
        .map_or(bytes.len(), |found| start + found + end.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_scripts_pass() {
        assert!(check_nesting("BEGIN { $x = -(1 + (2 * !3)); @m[(1)] = ~2; }").is_ok());
    }

    #[test]
    fn brackets_and_prefix_runs_count() {
        let parens = format!("{}1{}", "(".repeat(MAX_NESTING + 1), ")".repeat(MAX_NESTING + 1));
        assert_eq!(check_nesting(&parens).map_err(|d| d.span), Err(Span::new(MAX_NESTING, MAX_NESTING + 1)));
        assert!(check_nesting(&format!("{}1", "- ".repeat(MAX_NESTING + 1))).is_err());
        assert!(check_nesting(&format!("{}1", "- ".repeat(MAX_NESTING))).is_ok());
    }

    #[test]
    fn strings_and_comments_do_not_count() {
        let text = "(".repeat(MAX_NESTING * 2);
        assert!(check_nesting(&format!("\"{text}\" // {text}\n/* {text} */ # {text}")).is_ok());
        assert!(check_nesting(&format!("\"unterminated \\\" {text}")).is_ok());
    }
}
