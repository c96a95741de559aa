//! What a line typed at the prompt is: a command (`.print 1`, or `help`, `exit`, `quit`, `\q` as psql users
//! type them), a statement on the maps of the attached scripts (`print(@c)`, `clear(@c)`, `zero(@c)`,
//! `delete(@m, key)`, as in a bpftrace block), or a script to compile.

use jitterlib::agg::KeyPart;

/// A line, classified.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A command, by name (without the dot), with its argument.
    Command(&'a str, Option<&'a str>),
    /// A statement on a map.
    Statement(Statement),
    /// A statement that is malformed: what to say.
    BadStatement(String),
    /// Anything else: a script.
    Script,
}

/// A statement on one map, from a bpftrace block.
#[derive(Debug, PartialEq, Eq)]
pub struct Statement {
    /// What to do.
    pub action: Action,
    /// The map, as printed (`@`, `@c`).
    pub map: String,
    /// The key of `delete`.
    pub key: Vec<KeyPart>,
    /// `print(@m, N)`: only the N largest entries (0: all).
    pub limit: usize,
}

/// The statements the prompt takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `print(@m)`, `print(@m, N)`.
    Print,
    /// `clear(@m)`.
    Clear,
    /// `zero(@m)`.
    Zero,
    /// `delete(@m, key)` or `delete(@m[key])`.
    Delete,
}

/// Words that are commands without their dot (what psql and shell users type first).
const BARE_COMMANDS: [&str; 5] = ["help", "exit", "quit", "\\q", "\\?"];

/// Classifies a trimmed, non-empty line.
pub fn classify(input: &str) -> Line<'_> {
    let input = input.trim();
    if let Some(command) = input.strip_prefix('.') {
        let mut words = command.split_whitespace();
        return Line::Command(words.next().unwrap_or(""), words.next());
    }
    if BARE_COMMANDS.contains(&input) {
        let name = match input {
            "\\q" => "quit",
            "\\?" => "help",
            word => word,
        };
        return Line::Command(name, None);
    }
    let Some((name, rest)) = input.split_once('(') else { return Line::Script };
    let action = match name.trim() {
        "print" => Action::Print,
        "clear" => Action::Clear,
        "zero" => Action::Zero,
        "delete" => Action::Delete,
        _ => return Line::Script,
    };
    match parse_statement(action, rest.trim_end().trim_end_matches(';').trim_end()) {
        Ok(statement) => Line::Statement(statement),
        Err(message) => Line::BadStatement(message),
    }
}

/// Parses what follows `name(`: the arguments and the closing parenthesis.
fn parse_statement(action: Action, rest: &str) -> Result<Statement, String> {
    let usage = || match action {
        Action::Print => "usage: print(@map) or print(@map, N)".to_string(),
        Action::Clear => "usage: clear(@map)".to_string(),
        Action::Zero => "usage: zero(@map)".to_string(),
        Action::Delete => "usage: delete(@map, key), delete(@map, (key1, key2)) or delete(@map[key])".to_string(),
    };
    let inner = rest.strip_suffix(')').ok_or_else(usage)?;
    let args = split_top_level(inner);
    let (first, others) = args.split_first().ok_or_else(usage)?;
    let (map, bracket_key) = match first.split_once('[') {
        Some((map, key)) => (map.trim(), Some(key.strip_suffix(']').ok_or_else(usage)?)),
        None => (first.trim(), None),
    };
    let valid_map = map.starts_with('@') && map[1..].chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_map {
        return Err(format!("`{map}` is not a map name such as @counts; {}", usage()));
    }
    let mut statement = Statement { action, map: map.to_string(), key: Vec::new(), limit: 0 };
    match (action, bracket_key, others) {
        (Action::Delete, Some(key), []) => statement.key = parse_key(key)?,
        (Action::Delete, None, [key]) => {
            statement.key = parse_key(key.trim().trim_start_matches('(').trim_end_matches(')'))?
        }
        (Action::Print, None, [limit]) => {
            statement.limit =
                limit.trim().parse().map_err(|_| format!("`{}` is not a count; {}", limit.trim(), usage()))?
        }
        (Action::Print | Action::Clear | Action::Zero, None, []) => {}
        _ => return Err(usage()),
    }
    Ok(statement)
}

/// The parts of a key: integers (`42`, `-1`, `0x2a`) and double-quoted strings, separated by commas.
fn parse_key(text: &str) -> Result<Vec<KeyPart>, String> {
    split_top_level(text)
        .into_iter()
        .map(|part| {
            let part = part.trim();
            if let Some(quoted) = part.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')) {
                return Ok(KeyPart::Str(quoted.replace("\\\"", "\"")));
            }
            let parsed = match part.strip_prefix("0x") {
                Some(hex) => i64::from_str_radix(hex, 16).ok(),
                None => part.parse().ok(),
            };
            parsed.map(KeyPart::Int).ok_or_else(|| format!("`{part}` is not an integer or a \"string\" key"))
        })
        .collect()
}

/// `text` split at the commas outside quotes, brackets and parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut quoted, mut start) = (Vec::new(), 0i32, false, 0);
    let mut previous = ' ';
    for (i, c) in text.char_indices() {
        match c {
            '"' if previous != '\\' => quoted = !quoted,
            '(' | '[' if !quoted => depth += 1,
            ')' | ']' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        previous = c;
    }
    if !text[start..].trim().is_empty() || !parts.is_empty() {
        parts.push(&text[start..]);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(action: Action, map: &str, key: Vec<KeyPart>, limit: usize) -> Line<'static> {
        Line::Statement(Statement { action, map: map.into(), key, limit })
    }

    #[test]
    fn bare_words_are_commands() {
        assert_eq!(classify("help"), Line::Command("help", None));
        assert_eq!(classify(" quit "), Line::Command("quit", None));
        assert_eq!(classify("exit"), Line::Command("exit", None));
        assert_eq!(classify("\\q"), Line::Command("quit", None));
        assert_eq!(classify(".print @c"), Line::Command("print", Some("@c")));
    }

    #[test]
    fn map_statements_parse_as_in_a_block() {
        assert_eq!(classify("print(@c)"), statement(Action::Print, "@c", vec![], 0));
        assert_eq!(classify("print(@c, 5);"), statement(Action::Print, "@c", vec![], 5));
        assert_eq!(classify("clear(@)"), statement(Action::Clear, "@", vec![], 0));
        assert_eq!(classify("zero(@c);"), statement(Action::Zero, "@c", vec![], 0));
        let key = vec![KeyPart::Int(1), KeyPart::Str("a, b".into())];
        assert_eq!(classify(r#"delete(@m, (1, "a, b"))"#), statement(Action::Delete, "@m", key.clone(), 0));
        assert_eq!(classify(r#"delete(@m[1, "a, b"])"#), statement(Action::Delete, "@m", key, 0));
        assert_eq!(classify("delete(@m, 0x10)"), statement(Action::Delete, "@m", vec![KeyPart::Int(16)], 0));
    }

    #[test]
    fn malformed_statements_say_how_to_write_them() {
        assert_eq!(
            classify("clear(c)"),
            Line::BadStatement("`c` is not a map name such as @counts; usage: clear(@map)".into())
        );
        assert_eq!(
            classify("delete(@m)"),
            Line::BadStatement("usage: delete(@map, key), delete(@map, (key1, key2)) or delete(@map[key])".into())
        );
        assert_eq!(classify("delete(@m, x)"), Line::BadStatement("`x` is not an integer or a \"string\" key".into()));
    }

    #[test]
    fn probes_and_other_calls_are_scripts() {
        assert_eq!(classify("timer() { @[func] = count(); }"), Line::Script);
        assert_eq!(classify("tracepoint:irq:softirq_entry { print(@c); }"), Line::Script);
        assert_eq!(classify("interval:s:1 {"), Line::Script);
    }
}
