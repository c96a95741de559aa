//! Diagnostics: errors as data (`code`, message, span, hint), rendered to text only at the edge.

use codespan_reporting::diagnostic::{Diagnostic as Report, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Config};

/// A byte range in the script source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// Whether a diagnostic stops the compilation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The script does not compile.
    #[default]
    Error,
    /// The script compiles and runs, but probably not as meant.
    Warning,
}

/// Stable diagnostic codes: documented in the book, never renumbered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// The text does not parse.
    Syntax,
    /// A probe kind the registry does not know.
    UnknownProbe,
    /// A probe whose arguments or parts are wrong.
    BadProbe,
    /// A probe target the kernel does not have (tracepoint, function).
    MissingTarget,
    /// An identifier that is no builtin, field or function.
    UnknownIdent,
    /// A field the value does not have.
    UnknownField,
    /// A struct or type name the kernel's BTF or the language does not know (casts).
    UnknownType,
    /// A script parameter or argument that is not declared, given twice, or of the wrong kind.
    BadParam,
    /// A value of the wrong type.
    TypeMismatch,
    /// A call with the wrong number of arguments.
    Arity,
    /// A map used with different key or value types.
    MapConflict,
    /// A member access that does not fit the value: `->` on something that is not a struct pointer, `.` on a
    /// pointer, or an index on something that is not an array.
    Access,
    /// A division or remainder by a constant zero (`x / 0`, `x % 0`, `x /= 0`).
    DivisionByZero,
    /// A construct the compiler cannot (yet) emit.
    Unsupported,
    /// A limit of the compiler or of BPF was exceeded (stack, program size, string length).
    Limit,
    /// An action on the system (`signal()`, `system()`) in a script run without `--unsafe`.
    NeedsUnsafe,
    /// Warning: a `while` whose condition is a constant true and whose body has no `break`, `return` or `exit()`:
    /// it only ends at the iteration cap.
    EndlessLoop,
    /// Warning: a map declared with `let @m = KIND(N);` that no probe uses.
    UnusedMap,
    /// Warning: a statement after `exit()`, `return`, `break` or `continue` in the same block: it never runs.
    Unreachable,
    /// The kernel verifier rejected the code of this construct (a run-time error: a bug of the compiler or a
    /// kernel that verifies differently).
    VerifierRejected,
    /// The compiler could not assemble or write what it generated: a bug of jl, never of the script.
    Internal,
}

impl Code {
    /// The printed code, e.g. `E0101`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "E0001",
            Code::UnknownProbe => "E0100",
            Code::BadProbe => "E0101",
            Code::MissingTarget => "E0102",
            Code::UnknownIdent => "E0200",
            Code::UnknownField => "E0201",
            Code::UnknownType => "E0202",
            Code::BadParam => "E0250",
            Code::TypeMismatch => "E0300",
            Code::Arity => "E0301",
            Code::MapConflict => "E0302",
            Code::Access => "E0303",
            Code::DivisionByZero => "E0304",
            Code::Unsupported => "E0400",
            Code::Limit => "E0401",
            Code::NeedsUnsafe => "E0500",
            Code::VerifierRejected => "E0900",
            Code::Internal => "E0990",
            Code::EndlessLoop => "W0100",
            Code::UnusedMap => "W0101",
            Code::Unreachable => "W0102",
        }
    }
}

/// The code of a probe that does not resolve: what went wrong, not where it was found out.
impl From<jitterlib::probe::ProbeErrorKind> for Code {
    fn from(kind: jitterlib::probe::ProbeErrorKind) -> Code {
        use jitterlib::probe::ProbeErrorKind;
        match kind {
            ProbeErrorKind::UnknownKind => Code::UnknownProbe,
            ProbeErrorKind::BadSpec => Code::BadProbe,
            ProbeErrorKind::MissingTarget | ProbeErrorKind::Kernel => Code::MissingTarget,
            ProbeErrorKind::Internal => Code::Internal,
        }
    }
}

/// One problem found in a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// An error (the script does not compile) or a warning.
    pub severity: Severity,
    /// Stable code.
    pub code: Code,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
    /// Where.
    pub span: Span,
    /// A short text under the caret (what was expected there).
    pub label: Option<Box<str>>,
    /// Further facts, printed as `= note:` lines (may span several lines).
    pub notes: Vec<String>,
    /// What to try instead.
    pub hint: Option<Box<str>>,
    /// Other places that explain this one (the call of a macro whose expansion went wrong), each with its label.
    /// (Boxed, like the label and the hint, to keep `Result<_, Diagnostic>` small.)
    pub related: Option<Box<[(Span, String)]>>,
}

impl Diagnostic {
    /// An error with a code, a message and a span.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        let severity = Severity::Error;
        Diagnostic {
            severity,
            code,
            message: message.into(),
            span,
            label: None,
            notes: Vec::new(),
            hint: None,
            related: None,
        }
    }

    /// A probe that does not resolve, at `span`: the code of its kind, its message and its hint.
    pub fn probe(error: jitterlib::probe::ProbeError, span: Span) -> Diagnostic {
        let diagnostic = Diagnostic::new(Code::from(error.kind), span, error.message);
        match error.hint {
            Some(hint) => diagnostic.with_hint(hint),
            None => diagnostic,
        }
    }

    /// A warning with a code, a message and a span: the script still compiles.
    pub fn warning(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::new(code, span, message) }
    }

    /// Adds the text printed under the caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into().into_boxed_str());
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// Adds a labelled place that explains this one.
    pub fn with_related(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        let mut related = self.related.take().map(Vec::from).unwrap_or_default();
        related.push((span, label.into()));
        self.related = Some(related.into_boxed_slice());
        self
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into().into_boxed_str());
        self
    }
}

/// Every diagnostic of one compilation, in source order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Renders every diagnostic as text: `error[CODE]: message` (or `warning[CODE]: ...`), `file:line:col`, the source line, a caret
    /// and the hint. No colours, so the output is stable for snapshot tests.
    pub fn render(&self, file_name: &str, source: &str) -> String {
        let file = SimpleFile::new(file_name, source);
        let config = Config { chars: term::Chars::ascii(), ..Config::default() };
        let mut out = String::new();
        for diagnostic in &self.0 {
            let span = clamp(diagnostic.span, source.len());
            let mut label = Label::primary((), span.start..span.end);
            if let Some(text) = &diagnostic.label {
                label = label.with_message(text.as_ref());
            }
            let report = match diagnostic.severity {
                Severity::Error => Report::error(),
                Severity::Warning => Report::warning(),
            };
            let related = diagnostic.related.iter().flatten().map(|(span, text)| {
                let span = clamp(*span, source.len());
                Label::secondary((), span.start..span.end).with_message(text)
            });
            let labels = std::iter::once(label).chain(related).collect();
            let mut report =
                report.with_code(diagnostic.code.as_str()).with_message(&diagnostic.message).with_labels(labels);
            let notes = diagnostic.notes.iter().map(|note| format!("note: {note}"));
            let hint = diagnostic.hint.iter().map(|hint| format!("hint: {hint}"));
            report = report.with_notes(notes.chain(hint).collect());
            // Spans are clamped to the source above, so rendering into a String cannot fail.
            if let Ok(text) = term::emit_into_string(&config, &file, &report) {
                out.push_str(&text);
            }
        }
        out
    }
}

fn clamp(span: Span, len: usize) -> Span {
    let start = span.start.min(len);
    Span::new(start, span.end.clamp(start, len))
}
