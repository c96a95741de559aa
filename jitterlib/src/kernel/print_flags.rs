//! The flag names of a tracepoint's `print fmt`: its `__print_flags(REC->FIELD, "|", {MASK, "NAME"}, ...)` tables,
//! which the kernel fills with the masks of its own build (`show_gfp_flags()` for `gfp_flags`), in the order it
//! matches them: compound masks first (`GFP_KERNEL`), single bits after.
//!
//! A mask is a C constant expression as the preprocessor left it: integers (`1UL`), casts (`( gfp_t)`,
//! `( unsigned long)`), `<<`, `&`, `|`, `~` and parentheses.

use serde::{Deserialize, Serialize};

/// One `__print_flags` table of a tracepoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintFlags {
    /// The record field whose flags it names (`gfp_flags`).
    pub field: String,
    /// `(mask, name)` in the kernel's order.
    pub names: Vec<(u64, String)>,
}

/// Every `__print_flags(REC->FIELD, ...)` table of `print_fmt` whose masks evaluate; the others are left out.
pub fn parse(print_fmt: &str) -> Vec<PrintFlags> {
    let mut tables = Vec::new();
    let mut rest = print_fmt;
    while let Some(at) = rest.find("__print_flags(REC->") {
        rest = &rest[at + "__print_flags(REC->".len()..];
        let field: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if let Some(names) = entries(&rest[field.len()..]) {
            if !tables.iter().any(|table: &PrintFlags| table.field == field) {
                tables.push(PrintFlags { field, names });
            }
        }
    }
    tables
}

/// The `{MASK, "NAME"}` entries after the field, up to the `)` closing `__print_flags`.
fn entries(text: &str) -> Option<Vec<(u64, String)>> {
    let mut names = Vec::new();
    let mut rest = text.trim_start().strip_prefix(',')?.trim_start();
    // The separator string.
    rest = rest.strip_prefix('"')?;
    rest = rest[rest.find('"')? + 1..].trim_start();
    while let Some(entry) = rest.strip_prefix(',').map(str::trim_start).and_then(|after| after.strip_prefix('{')) {
        // The name is the entry's last string; the mask is what comes before its comma.
        let close = entry.find('}')?;
        let (mask, name) = entry[..close].rsplit_once(',')?;
        // The kernel ends the table with `{ 0, ((void *)0) }`, an entry without a name.
        if let Some(name) = name.trim().strip_prefix('"').and_then(|name| name.strip_suffix('"')) {
            names.push((evaluate(mask)?, name.to_string()));
        }
        rest = entry[close + 1..].trim_start();
    }
    rest.starts_with(')').then_some(names)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Number(u64),
    Open,
    Close,
    Shift,
    And,
    Or,
    Not,
}

/// The value of a mask expression, `None` when it holds anything else (a name, another operator).
fn evaluate(text: &str) -> Option<u64> {
    let tokens = tokens(text)?;
    let mut parser = Parser { tokens: &tokens, at: 0 };
    let value = parser.or()?;
    (parser.at == tokens.len()).then_some(value)
}

/// The tokens of `text`, casts (`( gfp_t)`, `(unsigned long)`) left out.
fn tokens(text: &str) -> Option<Vec<Token>> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &text[at..];
        match bytes[at] {
            b' ' | b'\t' => at += 1,
            b'(' => {
                let inside = rest[1..].split(')').next().unwrap_or("");
                let is_cast = !inside.trim().is_empty()
                    && inside.trim().starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && inside.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ' ');
                if is_cast {
                    at += inside.len() + 2;
                } else {
                    tokens.push(Token::Open);
                    at += 1;
                }
            }
            operator @ (b')' | b'|' | b'&' | b'~') => {
                tokens.push(match operator {
                    b')' => Token::Close,
                    b'|' => Token::Or,
                    b'&' => Token::And,
                    _ => Token::Not,
                });
                at += 1;
            }
            b'<' if rest.starts_with("<<") => {
                tokens.push(Token::Shift);
                at += 2;
            }
            b'0'..=b'9' => {
                let digits = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
                let number = rest[..digits].trim_end_matches(['u', 'U', 'l', 'L']);
                let value = match number.strip_prefix("0x").or_else(|| number.strip_prefix("0X")) {
                    Some(hex) => u64::from_str_radix(hex, 16).ok()?,
                    None => number.parse().ok()?,
                };
                tokens.push(Token::Number(value));
                at += digits;
            }
            _ => return None,
        }
    }
    Some(tokens)
}

/// C's precedence for the operators masks use: `~` over `<<` over `&` over `|`.
struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
}

impl Parser<'_> {
    fn next_is(&mut self, token: Token) -> bool {
        let found = self.tokens.get(self.at) == Some(&token);
        self.at += usize::from(found);
        found
    }

    fn or(&mut self) -> Option<u64> {
        let mut value = self.and()?;
        while self.next_is(Token::Or) {
            value |= self.and()?;
        }
        Some(value)
    }

    fn and(&mut self) -> Option<u64> {
        let mut value = self.shift()?;
        while self.next_is(Token::And) {
            value &= self.shift()?;
        }
        Some(value)
    }

    fn shift(&mut self) -> Option<u64> {
        let mut value = self.unary()?;
        while self.next_is(Token::Shift) {
            value = value.checked_shl(u32::try_from(self.unary()?).ok()?)?;
        }
        Some(value)
    }

    fn unary(&mut self) -> Option<u64> {
        if self.next_is(Token::Not) {
            return Some(!self.unary()?);
        }
        if self.next_is(Token::Open) {
            let value = self.or()?;
            return self.next_is(Token::Close).then_some(value);
        }
        match self.tokens.get(self.at) {
            Some(Token::Number(value)) => {
                self.at += 1;
                Some(*value)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start of kmem:kmalloc's `print fmt` on Linux 6.18, cut to three entries.
    const KMALLOC: &str = r#""gfp_flags=%s node=%d", (REC->gfp_flags) ? __print_flags(REC->gfp_flags, "|", {( unsigned long)((( gfp_t)(((((1UL))) << (10))|((((1UL))) << (11)))) | (( gfp_t)((((1UL))) << (6))) | (( gfp_t)((((1UL))) << (7)))), "GFP_KERNEL"}, {( unsigned long)(((( gfp_t)(((((1UL))) << (10)))) & ~(( gfp_t)(((((1UL))) << (10))|((((1UL))) << (11))))) | (( gfp_t)0)), "ZERO"}, {( unsigned long)(( gfp_t)((((1UL))) << (0))), "GFP_DMA"}, { 0, ((void *)0) } ) : "none", REC->node"#;

    #[test]
    fn reads_the_masks_of_print_flags() {
        let tables = parse(KMALLOC);
        assert_eq!(tables.len(), 1);
        assert_eq!(tables[0].field, "gfp_flags");
        let expected = [(0xcc0, "GFP_KERNEL"), (0, "ZERO"), (1, "GFP_DMA")];
        assert_eq!(tables[0].names, expected.map(|(mask, name)| (mask, name.to_string())));
    }

    #[test]
    fn leaves_out_tables_it_cannot_evaluate() {
        assert_eq!(parse(r#"__print_flags(REC->f, "|", {SOME_NAME, "X"})"#), Vec::new());
        assert_eq!(parse(r#"__print_flags(REC->f, "|", {1 +, "X"})"#), Vec::new());
        assert_eq!(evaluate("((1UL) << 3) | 0x10"), Some(0x18));
        assert_eq!(evaluate("(1 << 99)"), None);
        assert_eq!(evaluate("(1"), None);
    }
}
