//! Where `errorf()` and `warnf()` were called, printed before their message as bpftrace prints it:
//! `FILE:LINE:COL-COL: ERROR: message`, then for a call inside a macro each call of that macro it was expanded
//! from, with its source line and the call underlined.

use crate::ast::Expansion;
use crate::diag::Span;
use crate::ir::{PrintfAction, PrintfInfo};

/// The place of one `errorf()` / `warnf()` call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallSite {
    /// `stdin:1:9-62`: the script, the line and the columns of the call (1-based, the end one past it).
    pub location: String,
    /// The macro calls the call was expanded from: each location and its source line with the call underlined.
    pub expanded_from: Vec<(String, String)>,
}

impl CallSite {
    /// The message as printed on stderr, after `label` (`ERROR`, `WARNING`); a final newline of the message is
    /// dropped, as bpftrace drops it.
    pub fn render(&self, label: &str, message: &str) -> String {
        let message = message.strip_suffix('\n').unwrap_or(message);
        let mut text = format!("{}: {label}: {message}", self.location);
        for (location, context) in &self.expanded_from {
            text.push_str(&format!("\n{location}: {label}: expanded from\n{context}"));
        }
        text
    }
}

/// Fills in the [`CallSite`] of every `errorf()` and `warnf()` of `printfs`: `file` names the script as
/// bpftrace does (`stdin` for a program given with `-e`).
pub fn fill(printfs: &mut [PrintfInfo], file: &str, source: &str, expansions: &[Expansion]) {
    for info in printfs.iter_mut().filter(|info| matches!(info.action, PrintfAction::Error | PrintfAction::Warning)) {
        let inside = |outer: Span| outer.start <= info.span.start && info.span.end <= outer.end;
        let mut calls: Vec<Span> = expansions.iter().filter(|e| inside(e.definition)).map(|e| e.call).collect();
        calls.dedup();
        info.site = CallSite {
            location: location(file, source, info.span),
            expanded_from: calls
                .into_iter()
                .map(|call| (location(file, source, call), underlined(source, call)))
                .collect(),
        };
    }
}

/// `file:line:start-end`, columns counted in characters from 1, `end` one past the span (on its first line).
fn location(file: &str, source: &str, span: Span) -> String {
    let (line, start, end) = columns(source, span);
    format!("{file}:{line}:{start}-{end}")
}

/// The line of the span's start, its number and the span's columns on it.
fn columns(source: &str, span: Span) -> (usize, usize, usize) {
    let start = span.start.min(source.len());
    let before = &source[..start];
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let line = before.matches('\n').count() + 1;
    let column = source[line_start..start].chars().count() + 1;
    let line_end = source[start..].find('\n').map_or(source.len(), |at| start + at);
    let width = source[start..span.end.clamp(start, line_end)].chars().count();
    (line, column, column + width)
}

/// The source line of the span, and under it `~` under the span.
fn underlined(source: &str, span: Span) -> String {
    let (line, start, end) = columns(source, span);
    let text = source.lines().nth(line - 1).unwrap_or_default();
    format!("{text}\n{}{}", " ".repeat(start - 1), "~".repeat(end - start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_lines_and_columns_from_one() {
        let source = "begin {\n  errorf(\"x\"); }";
        let span = Span::new(10, 21);
        assert_eq!(location("stdin", source, span), "stdin:2:3-14");
        assert_eq!(underlined(source, span), "  errorf(\"x\"); }\n  ~~~~~~~~~~~");
    }

    #[test]
    fn render_drops_one_final_newline_and_lists_expansions() {
        let site = CallSite {
            location: "stdin:1:15-38".into(),
            expanded_from: vec![("stdin:1:50-55".into(), "m() { }\n~~~".into())],
        };
        assert_eq!(
            site.render("ERROR", "bad\n"),
            "stdin:1:15-38: ERROR: bad\nstdin:1:50-55: ERROR: expanded from\nm() { }\n~~~"
        );
    }
}
