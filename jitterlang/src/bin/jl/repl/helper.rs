//! Line editing help: completion of probes, tracepoints, builtins, functions, map names and commands, and
//! multi-line input (a line that parses as "unfinished at the end" continues on the next line).

use jitterlib::kernel::KernelInfo;
use jitterlib::probe::REGISTRY;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

/// Words completed anywhere.
const WORDS: &[&str] = &[
    "pid", "tid", "uid", "gid", "cpu", "nsecs", "comm", "args", "dur", "func", "count()", "sum(", "min(", "max(",
    "avg(", "stats(", "hist(", "lhist(", "printf(", "exit()", "ksym(", "kstack", "ustack", "buf(", "ntop(", "if",
    "else",
];

/// Dot-commands.
const COMMANDS: &[&str] = &[".help", ".list", ".print", ".clear", ".detach", ".attach", ".dis", ".live", ".quit"];

/// The prompt's rustyline helper.
pub struct ReplHelper {
    static_words: Vec<String>,
    maps: Vec<String>,
}

impl ReplHelper {
    /// Collects probe kinds and the kernel's tracepoints once.
    pub fn new(kernel: &dyn KernelInfo) -> ReplHelper {
        let mut static_words: Vec<String> = WORDS.iter().chain(COMMANDS).map(|word| word.to_string()).collect();
        for kind in REGISTRY {
            static_words.push(if kind.syntax.contains('(') {
                format!("{}(", kind.name)
            } else {
                kind.name.to_string()
            });
        }
        if let Ok(tracepoints) = kernel.tracepoints() {
            static_words
                .extend(tracepoints.into_iter().map(|(category, name)| format!("tracepoint:{category}:{name}")));
        }
        ReplHelper { static_words, maps: Vec::new() }
    }

    /// Updates the map names offered.
    pub fn set_maps(&mut self, maps: Vec<String>) {
        self.maps = maps;
    }
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start =
            line[..pos].rfind(|c: char| c.is_whitespace() || "{}();,/<>=!&|+-*[".contains(c)).map_or(0, |i| i + 1);
        let word = &line[start..pos];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let candidates = self
            .static_words
            .iter()
            .chain(&self.maps)
            .filter(|candidate| candidate.starts_with(word))
            .map(|candidate| Pair { display: candidate.clone(), replacement: candidate.clone() })
            .collect();
        Ok((start, candidates))
    }
}

impl Validator for ReplHelper {
    fn validate(&self, context: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        let input = context.input();
        if super::line::classify(input) != super::line::Line::Script {
            return Ok(ValidationResult::Valid(None));
        }
        let end = input.trim_end().len();
        match jitterlang::syntax::parse(input) {
            Err(diagnostics) if diagnostics.0.iter().any(|d| d.span.start >= end) => Ok(ValidationResult::Incomplete),
            _ => Ok(ValidationResult::Valid(None)),
        }
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Highlighter for ReplHelper {}

impl Helper for ReplHelper {}
