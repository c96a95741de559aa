//! Shell-style patterns (`*` any run, `?` one character), as probe paths and `jl -l` use them: a leaf module, so
//! that probes and binaries (`usym`) can both match names without importing each other.

/// Shell-style matching with `*` (any run) and `?` (one character).
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob("tracepoint:irq:*", "tracepoint:irq:softirq_entry"));
        assert!(glob("*softirq*", "tracepoint:irq:softirq_exit"));
        assert!(!glob("tracepoint:irq:*", "tracepoint:timer:timer_init"));
        assert!(glob("t?mer", "timer"));
    }
}
