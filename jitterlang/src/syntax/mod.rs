//! Source text to [`Script`]: the pest grammar (`grammar.pest`) and the lowering of its parse tree.

mod c_defs;
pub mod defines;
pub mod limits;
mod lower;
pub mod macros;

pub(crate) use lower::{duration_text, integer_text};

use crate::ast::Script;
use crate::diag::{Code, Diagnostic, Diagnostics, Span};
use pest::Parser as _;

/// The pest parser generated from `grammar.pest` (its `Rule` enum is generated, hence undocumented).
#[allow(missing_docs)]
mod generated {
    #[derive(pest_derive::Parser)]
    #[grammar = "syntax/grammar.pest"]
    pub(crate) struct Grammar;
}
use generated::{Grammar, Rule};

/// Scripts larger than this are refused before parsing (pest recursion depth grows with nesting).
pub const MAX_SOURCE_BYTES: usize = 1 << 20;

/// Parses a script into its syntax tree.
pub fn parse(source: &str) -> Result<Script, Diagnostics> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(Diagnostics(vec![Diagnostic::new(
            Code::Limit,
            Span::new(0, 0),
            format!("script is {} bytes, more than the {MAX_SOURCE_BYTES} accepted", source.len()),
        )]));
    }
    limits::check_nesting(source).map_err(|d| Diagnostics(vec![d]))?;
    let mut pairs =
        Grammar::parse(Rule::program, source).map_err(|error| Diagnostics(vec![syntax_error(source, error)]))?;
    check_tree_depth(&pairs).map_err(|d| Diagnostics(vec![d]))?;
    let program =
        pairs.next().ok_or_else(|| Diagnostics(vec![Diagnostic::new(Code::Syntax, Span::default(), "empty parse")]))?;
    lower::script(program).map_err(|d| Diagnostics(vec![d]))
}

/// Reads the text of a script argument used as a probe argument (`irqoff($1)`) like a literal written there:
/// a string, integer, duration or bare word (other text is a string); `None` when the argument is empty or not
/// given, which leaves the probe argument out.
pub fn probe_arg_text(text: &str, span: Span) -> Option<crate::ast::ProbeArg> {
    lower::probe_arg_text(text, span)
}

/// Refuses parse trees deeper than [`limits::MAX_TREE_DEPTH`], walking the flat token stream (no recursion).
fn check_tree_depth(pairs: &pest::iterators::Pairs<Rule>) -> Result<(), Diagnostic> {
    let mut depth = 0usize;
    for token in pairs.clone().tokens() {
        match token {
            pest::Token::Start { pos, .. } => {
                depth += 1;
                if depth > limits::MAX_TREE_DEPTH {
                    return Err(limits::too_deep(Span::new(pos.pos(), pos.pos() + 1)));
                }
            }
            pest::Token::End { .. } => depth = depth.saturating_sub(1),
        }
    }
    Ok(())
}

fn syntax_error(source: &str, error: pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let span = match error.location {
        InputLocation::Pos(pos) => Span::new(pos, pos + 1),
        InputLocation::Span((start, end)) => Span::new(start, end),
    };
    if let ErrorVariant::CustomError { message } = &error.variant {
        // pest stops itself when its recursion nears the end of the stack ("stack limit reached"). Where that
        // happens depends on the stack size, so the error points at the start of the script, the same everywhere.
        if message.contains("limit reached") {
            return limits::too_deep(Span::new(0, 0));
        }
    }
    if let Some(unclosed) = unclosed_at(source, span.start) {
        return unclosed;
    }
    let expected = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => describe_expected(positives),
        ErrorVariant::CustomError { message } => message.clone(),
    };
    let diagnostic = Diagnostic::new(Code::Syntax, span, format!("syntax error: expected {expected}"))
        .with_label(format!("expected {expected}"));
    let hint = if in_open_predicate(source, span.start) {
        Some("a predicate ends with `/` before the block: `probe /condition/ { ... }`")
    } else {
        hint_for(&error.variant)
    };
    match hint {
        Some(hint) => diagnostic.with_hint(hint),
        None => diagnostic,
    }
}

/// Whether parsing stopped at a block's `{` while a predicate was still open: since the end of the last block,
/// an odd number of `/` (not comments) precedes it.
fn in_open_predicate(source: &str, at: usize) -> bool {
    let Some(before) = source.get(..at).filter(|_| source[at..].starts_with('{')) else { return false };
    let header = before.rfind('}').map_or(before, |end| &before[end + 1..]);
    let lines = header.lines().map(|line| line.split("//").next().unwrap_or(line));
    lines.map(|line| line.matches('/').count()).sum::<usize>() % 2 == 1
}

/// A clearer error when parsing stopped at a comment or string that never ends.
fn unclosed_at(source: &str, at: usize) -> Option<Diagnostic> {
    let rest = source.get(at..)?;
    let (what, closer) = if let Some(body) = rest.strip_prefix("/*") {
        ("comment", (!body.contains("*/")).then_some("*/")?)
    } else if let Some(body) = rest.strip_prefix('"') {
        // Escaped characters (`\"`, `\\`) cannot close the string.
        let unescaped = body.replace("\\\\", "").replace("\\\"", "");
        ("string", (!unescaped.contains('"')).then_some("\"")?)
    } else {
        return None;
    };
    Some(
        Diagnostic::new(Code::Syntax, Span::new(at, at + 1), format!("this {what} is never closed"))
            .with_label(format!("{what} starts here"))
            .with_hint(format!("end it with `{closer}`")),
    )
}

fn describe_expected(rules: &[Rule]) -> String {
    let mut names: Vec<&str> = rules.iter().map(|rule| rule_name(*rule)).collect();
    names.sort_unstable();
    names.dedup();
    match names.as_slice() {
        [] => "something else".to_string(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn hint_for(variant: &pest::error::ErrorVariant<Rule>) -> Option<&'static str> {
    let pest::error::ErrorVariant::ParsingError { positives, .. } = variant else { return None };
    if positives.contains(&Rule::block) {
        Some("a probe is followed by a block: `probe { statements }` or `probe < statements >`")
    } else if [Rule::program, Rule::probe_block, Rule::probe].iter().any(|rule| positives.contains(rule)) {
        Some("a script is a list of probes with blocks, e.g. `tracepoint:irq:softirq_entry { @[args.vec] = count(); }`")
    } else {
        None
    }
}

fn rule_name(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "end of input",
        // A script that fails at its very start reports the whole `program` rule.
        Rule::program | Rule::probe_block | Rule::probe | Rule::probe_path | Rule::typed_probe => "a probe",
        Rule::block | Rule::open_brace | Rule::open_angle => "a block (`{` or `<`)",
        Rule::predicate => "a predicate `/.../`",
        Rule::stmt
        | Rule::stmt_list
        | Rule::if_stmt
        | Rule::while_stmt
        | Rule::unroll_stmt
        | Rule::return_stmt
        | Rule::break_stmt
        | Rule::continue_stmt
        | Rule::map_update
        | Rule::var_assign
        | Rule::for_map_stmt
        | Rule::expr_stmt => "a statement",
        Rule::expr
        | Rule::binary
        | Rule::call
        | Rule::sizeof_call
        | Rule::named_value
        | Rule::type_name
        | Rule::tuple
        | Rule::map_ref
        | Rule::variable
        | Rule::positional
        | Rule::arg_count
        | Rule::cast
        | Rule::record_type
        | Rule::record_kw
        | Rule::enum_type
        | Rule::enum_kw
        | Rule::int_type
        | Rule::void_type
        | Rule::star
        | Rule::deref => "an expression",
        Rule::integer | Rule::duration => "a number",
        Rule::string | Rule::string_inner => "a string",
        // After `.`, a field name or a tuple element's number.
        Rule::ident | Rule::tuple_index => "a name",
        Rule::assign_op => "an assignment (`=`, `+=`, ...)",
        Rule::incr | Rule::decr => "`++` or `--`",
        Rule::probe_arg => "a probe argument",
        Rule::path_part => "a probe part",
        Rule::field | Rule::arrow | Rule::dot => "a field (`.name`)",
        Rule::index => "an index (`[i]`)",
        Rule::map_name => "a map name",
        Rule::time_unit => "a time unit",
        Rule::kw_if => "`if`",
        Rule::kw_else => "`else`",
        Rule::kw_while => "`while`",
        Rule::kw_unroll => "`unroll`",
        Rule::kw_return => "`return`",
        Rule::kw_break => "`break`",
        Rule::kw_continue => "`continue`",
        Rule::kw_let => "`let`",
        Rule::kw_macro | Rule::macro_def => "a macro (`macro name(x) { ... }`)",
        Rule::kw_enum | Rule::enum_def | Rule::c_definition | Rule::record_def => {
            "a C definition (`enum E { A, B };`, `struct S { int a; };`)"
        }
        Rule::field_decl | Rule::array_dim => "a struct member (`unsigned long a;`, `char *p;`, `int v[4];`)",
        Rule::enumerator => "an enumerator (`NAME` or `NAME = 5`)",
        Rule::macro_param => "a macro parameter (`$var`, `@map` or `name`)",
        Rule::kw_config => "`config`",
        Rule::config_item => "a setting (`max_map_keys = 1000`)",
        Rule::kw_for => "`for`",
        _ => "an operator",
    }
}
