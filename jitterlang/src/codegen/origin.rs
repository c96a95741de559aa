//! The source map of each program: which construct of the script each instruction comes from, so that a verifier
//! rejection can point at the script text. Statements and expressions mark their code; the innermost wins.

use super::{Gen, ProgramUnit};
use crate::diag::Span;
use jitterlib::insn::Program;

/// Characters of a construct's text shown in an annotated disassembly.
const SNIPPET_CHARS: usize = 48;

impl Gen<'_> {
    /// Attributes the code emitted until the matching [`Gen::leave`] to the construct written at `span`.
    pub(super) fn enter(&mut self, span: Span) {
        self.b.enter(self.spans.len() as u32);
        self.spans.push(span);
    }

    /// Ends the innermost [`Gen::enter`]: what follows belongs to the enclosing construct again.
    pub(super) fn leave(&mut self) {
        self.b.leave();
    }
}

impl ProgramUnit {
    /// Where in the script the instruction at slot `insn` (as the verifier log numbers it) comes from: the
    /// innermost statement or expression whose code it is part of, or the probe for the code the probe itself
    /// emits. `None` for programs that come from no script construct (the start time of `elapsed`).
    pub fn span_of(&self, insn: usize) -> Option<Span> {
        let origin = self.program.source_map.origin(insn)?;
        self.spans.get(origin as usize).copied()
    }

    /// The program with a comment before each run of instructions naming the construct of `source` it comes
    /// from: its line, column and (first line of) text.
    pub(super) fn annotated(&self, source: &str) -> Program {
        let mut program = self.program.clone();
        for &(insn, origin) in self.program.source_map.marks() {
            if let Some(span) = origin.and_then(|origin| self.spans.get(origin as usize)) {
                program.comments.push((insn, describe(*span, source)));
            }
        }
        program
    }
}

/// `LINE:COLUMN text` of a span of `source`, the text cut to its first line and [`SNIPPET_CHARS`].
fn describe(span: Span, source: &str) -> String {
    let before = source.get(..span.start).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |text| text.chars().count()) + 1;
    let text = source.get(span.start..span.end).unwrap_or("").lines().next().unwrap_or("").trim_end();
    let mut snippet: String = text.chars().take(SNIPPET_CHARS).collect();
    if snippet.len() < text.len() {
        snippet.push_str("...");
    }
    format!("{line}:{column} {snippet}")
}

#[cfg(test)]
mod tests {
    use jitterlib::kernel::FixtureKernel;

    #[test]
    fn the_annotated_listing_names_each_construct_before_its_code() {
        let source = "tracepoint:irq:softirq_entry\n/args.vec == 3/ { @[args.vec] = count(); }";
        let compiled = crate::compile(source, &FixtureKernel::bundled()).expect("compiles");
        let plain = compiled.disassembly();
        let annotated = compiled.disassembly_with_source(source);
        let added: Vec<&str> = annotated.lines().filter(|line| !plain.lines().any(|l| l == *line)).collect();
        assert_eq!(
            added,
            // The probe's own code is its start/stop gate check and its exit: its `r6 = r1` context copy is gone
            // (the context stays in r1).
            [
                "; 1:1 tracepoint:irq:softirq_entry",
                "; 2:2 args.vec",
                "; 2:2 args.vec == 3",
                "; 2:21 args.vec",
                "; 2:19 @[args.vec] = count()",
                "; 1:1 tracepoint:irq:softirq_entry",
            ]
        );
    }
}
