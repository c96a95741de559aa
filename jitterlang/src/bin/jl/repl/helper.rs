//! Line editing help: completion of probes, tracepoints, builtins, functions, map names and commands, and
//! multi-line input (a line that parses as "unfinished at the end" continues on the next line).

use jitterlang::sema::builtins::{self, Builtin, Kind};
use jitterlib::kernel::KernelInfo;
use jitterlib::probe::REGISTRY;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

/// Words completed anywhere, besides the builtins: keywords and the fields most probes have.
const WORDS: &[&str] = &["args", "dur", "func", "if", "else", "while", "unroll", "break", "continue", "return"];

/// Dot-commands.
const COMMANDS: &[&str] = &[".help", ".list", ".print", ".clear", ".detach", ".attach", ".dis", ".live", ".quit"];

/// The prompt's rustyline helper.
pub struct ReplHelper {
    static_words: Vec<String>,
    maps: Vec<String>,
}

impl ReplHelper {
    /// Collects builtins, probe kinds and the kernel's tracepoints once.
    pub fn new(kernel: &dyn KernelInfo) -> ReplHelper {
        let mut static_words: Vec<String> = WORDS.iter().chain(COMMANDS).map(|word| word.to_string()).collect();
        static_words.extend(builtins::REGISTRY.iter().map(completion));
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

/// What completes a builtin: `pid`, `count()` (nothing to add inside), `hist(`.
fn completion(builtin: &Builtin) -> String {
    match (builtin.kind(), builtin.params) {
        (Kind::Variable, _) => builtin.name.to_string(),
        (_, "") => format!("{}()", builtin.name),
        _ => format!("{}(", builtin.name),
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

#[cfg(test)]
mod tests {
    use super::*;
    use jitterlib::kernel::FixtureKernel;
    use rustyline::history::DefaultHistory;

    fn complete(helper: &ReplHelper, line: &str) -> Vec<String> {
        let history = DefaultHistory::new();
        let (_, pairs) = helper.complete(line, line.len(), &Context::new(&history)).expect("complete");
        pairs.into_iter().map(|pair| pair.replacement).collect()
    }

    #[test]
    fn completion_offers_every_builtin_from_the_registry() {
        let helper = ReplHelper::new(&FixtureKernel::bundled());
        for builtin in builtins::REGISTRY {
            assert!(complete(&helper, builtin.name).contains(&completion(builtin)), "{}", builtin.name);
        }
        assert_eq!(complete(&helper, "BEGIN { @ = quant"), ["quantiles("]);
        assert_eq!(complete(&helper, "BEGIN { @ = coun"), ["count()"]);
        assert_eq!(complete(&helper, "BEGIN { exi"), ["exit("], "exit takes an optional code");
        assert_eq!(complete(&helper, "BEGIN { @[netn"), ["netns"]);
        assert_eq!(complete(&helper, "BEGIN { @[pcom"), ["pcomm", "pcomm("], "a variable and its call on a task");
    }
}
