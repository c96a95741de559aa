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
///
/// Blocks delimited by `< >` count where they surely open a block: after the condition of `if`, `while` or
/// `unroll`, and after `else`. A `>` closes the innermost such block when no bracket is open inside it (a
/// comparison there closes it early, so the count never exceeds the real depth). Deep `< >` nesting is thus
/// refused here, at the same place whatever stack the parser would have had.
pub fn check_nesting(source: &str) -> Result<(), Diagnostic> {
    let bytes = source.as_bytes();
    let (mut depth, mut prefix_run, mut at) = (0usize, 0usize, 0usize);
    // Per open bracket, whether it is a condition's `(`; per open `< >` block, the bracket depth it opened at.
    let (mut brackets, mut angles): (Vec<bool>, Vec<usize>) = (Vec::new(), Vec::new());
    let (mut word, mut block_may_open) = (&b""[..], false);
    while let Some(&byte) = bytes.get(at) {
        let next = bytes.get(at + 1).copied();
        match byte {
            b'"' => at = skip_string(bytes, at),
            b'#' => at = skip_until(bytes, at, b"\n"),
            b'/' if next == Some(b'/') => at = skip_until(bytes, at, b"\n"),
            b'/' if next == Some(b'*') => at = skip_until(bytes, at + 2, b"*/"),
            b' ' | b'\t' | b'\r' | b'\n' => at += 1,
            _ if byte.is_ascii_alphanumeric() || byte == b'_' => {
                let end = bytes[at..].iter().position(|b| !b.is_ascii_alphanumeric() && *b != b'_');
                let end = end.map_or(bytes.len(), |length| at + length);
                // `@else`, `$if`, `.while` are names, not keywords.
                let named = at > 0 && matches!(bytes[at - 1], b'@' | b'$' | b'.');
                word = if named { b"" } else { &bytes[at..end] };
                (prefix_run, block_may_open) = (0, word == b"else");
                at = end;
            }
            _ => {
                let operator_follows = matches!(next, Some(b'=' | b'<' | b'>'));
                match byte {
                    b'-' | b'!' | b'~' => prefix_run += 1,
                    b'(' | b'[' | b'{' => {
                        brackets.push(byte == b'(' && matches!(word, b"if" | b"while" | b"for" | b"unroll"));
                        (depth, prefix_run) = (depth + 1, 0);
                    }
                    b')' | b']' | b'}' => {
                        block_may_open = brackets.pop() == Some(true);
                        (depth, prefix_run) = (depth.saturating_sub(1), 0);
                        angles.retain(|opened_at| *opened_at <= depth);
                        word = b"";
                        at += 1;
                        continue;
                    }
                    b'<' if block_may_open && !operator_follows => angles.push(depth),
                    b'>' if angles.last() == Some(&depth) && !operator_follows => {
                        angles.pop();
                    }
                    _ => prefix_run = 0,
                }
                (word, block_may_open) = (b"", false);
                if depth + angles.len() + prefix_run > MAX_NESTING {
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
    fn parentheses_up_to_the_limit_parse_once_each() {
        // Each `(` may open a tuple or a parenthesised value: parsed as two alternatives, this took 2^depth steps
        // (the fuzzer hung on one such input); as one rule it is linear, with or without the closing brackets.
        let depth = MAX_NESTING - 2;
        let closed = format!("BEGIN {{ $x = {}1{}; }}", "(".repeat(depth), ")".repeat(depth));
        assert!(crate::syntax::parse(&closed).is_ok());
        let unclosed = format!("BEGIN {{ $x = {}1; }}", "(".repeat(depth));
        assert!(crate::syntax::parse(&unclosed).is_err());
        assert!(crate::syntax::parse("BEGIN { $t = ((1, 2), (3, (4))); print($t); }").is_ok());
    }

    #[test]
    fn angle_blocks_count_where_they_surely_open() {
        let nested =
            |levels: usize| format!("BEGIN {{ {} @x = 1; {} }}", "if (1) <".repeat(levels), ">".repeat(levels));
        assert!(check_nesting(&nested(MAX_NESTING - 1)).is_ok());
        let too_deep = nested(MAX_NESTING);
        // `BEGIN {`, 63 blocks, then the condition of the 64th `if`.
        let last_condition = too_deep.rfind("(1)").expect("a condition");
        assert_eq!(check_nesting(&too_deep).map_err(|d| d.span), Err(Span::new(last_condition, last_condition + 1)));
        // Comparisons open nothing, and close a block at most early.
        let comparisons = "BEGIN { if ((1) < 2) < @x = 3 > 2; > }".repeat(MAX_NESTING * 2);
        assert!(check_nesting(&comparisons).is_ok());
        let named_else = format!("BEGIN {{ {} }}", "@y = @else < 1; ".repeat(MAX_NESTING * 2));
        assert!(check_nesting(&named_else).is_ok(), "a map named else opens nothing");
        let chain = format!("BEGIN {{ {} }}", "if (1) < @x = 1; > else <".repeat(MAX_NESTING * 2));
        assert!(check_nesting(&chain).is_err(), "an else-chain of angle blocks nests");
    }

    #[test]
    fn strings_and_comments_do_not_count() {
        let text = "(".repeat(MAX_NESTING * 2);
        assert!(check_nesting(&format!("\"{text}\" // {text}\n/* {text} */ # {text}")).is_ok());
        assert!(check_nesting(&format!("\"unterminated \\\" {text}")).is_ok());
    }
}
