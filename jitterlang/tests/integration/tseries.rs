//! `tseries()` end to end on this host: what the kernel kept per interval with each way of combining values,
//! bpftrace 0.27's graph and JSON, intervals on wall-clock boundaries, and `clear`/`zero`.

use crate::support::run_jl;
use jitterlib::testing::can_trace;
use serde_json::Value;

/// Runs a script that exits by itself, asserts it succeeded, and returns its standard output.
fn output_of(args: &[&str]) -> String {
    let (code, out, err) = run_jl(args);
    assert_eq!(code, 0, "jl {args:?} failed:\n{out}\n{err}");
    out
}

/// The `data` member of each `tseries` JSON line, by map name.
fn tseries_json(out: &str) -> serde_json::Map<String, Value> {
    out.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|object| object["type"] == "tseries")
        .filter_map(|object| object["data"].as_object().cloned())
        .flatten()
        .collect()
}

#[test]
fn each_interval_combines_its_values_as_asked() {
    if !can_trace("each_interval_combines_its_values_as_asked") {
        return;
    }
    // All writes land within one 10 s interval (BEGIN runs once, in microseconds): the kernel combines them.
    let script = "BEGIN { @last = tseries(5, 10s, 3); @last = tseries(-7, 10s, 3); \
                  @sum = tseries(5, 10s, 3, \"sum\"); @sum = tseries(-2, 10s, 3, \"sum\"); \
                  @avg = tseries(4, 10s, 3, \"avg\"); @avg = tseries(7, 10s, 3, \"avg\"); \
                  @min = tseries(5, 10s, 3, \"min\"); @min = tseries(-2, 10s, 3, \"min\"); @min = tseries(9, 10s, 3, \"min\"); \
                  @max = tseries(5, 10s, 3, \"max\"); @max = tseries(-2, 10s, 3, \"max\"); \
                  @k[\"a\", 1] = tseries(1, 10s, 3); @k[\"b\", 2] = tseries(2, 10s, 3); exit(); }";
    let out = output_of(&["-f", "json", "-e", script]);
    let maps = tseries_json(&out);
    let value = |map: &str| maps[map][0]["value"].clone();
    // Two writes that straddle a 10 s boundary would make two intervals: the last value is then the newest's.
    let newest = |map: &str| maps[map].as_array().and_then(|points| points.last()).map(|p| p["value"].clone());
    if maps["@last"].as_array().map(Vec::len) == Some(1) {
        assert_eq!(value("@last"), -7, "{out}");
        assert_eq!(value("@sum"), 3, "{out}");
        assert_eq!(value("@avg"), 5, "{out}");
        assert_eq!(value("@min"), -2, "{out}");
        assert_eq!(value("@max"), 5, "{out}");
    } else {
        assert_eq!(newest("@last"), Some(Value::from(-7)), "{out}");
    }
    assert_eq!(maps["@k"]["a,1"][0]["value"], 1, "{out}");
    assert_eq!(maps["@k"]["b,2"][0]["value"], 2, "{out}");
    // Intervals start on wall-clock multiples of 10 s, as bpftrace's: `2026-12-07 04:33:10.000000000`.
    let start = maps["@sum"][0]["interval_start"].as_str().unwrap_or_default().to_string();
    assert!(start.ends_with("0.000000000") && start.len() == 29, "{start}");
}

#[test]
fn the_graph_has_a_line_per_interval_with_gaps_and_the_zero_column() {
    if !can_trace("the_graph_has_a_line_per_interval_with_gaps_and_the_zero_column") {
        return;
    }
    // @c counts -2, -1, (0 skipped: a gap), 1, 2, 3, one per 100 ms interval; the ring keeps 20.
    let script = "BEGIN { @c = -3; } interval:ms:100 { @c = @c + 1; if (@c != 0) { @ = tseries(@c, 100ms, 20); } \
                  if (@c == 3) { clear(@c); exit(); } }";
    let text = output_of(&["-e", script]);
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|line| *line == "@:").unwrap_or_else(|| panic!("no @:\n{text}"));
    let scale = format!("{:13}{:<21}{:>32}", "", -2, 3);
    assert_eq!(lines[at + 1], scale, "{text}");
    assert_eq!(lines[at + 2], format!("hh:mm:ss.ms  |{}|", "_".repeat(51)), "{text}");
    let rows: Vec<&str> = lines[at + 3..].iter().take_while(|line| !line.starts_with(' ')).copied().collect();
    // Each row: time, graph, value; the value column read back in order.
    let values: Vec<Option<i64>> = rows.iter().map(|row| row.rsplit(' ').next().and_then(|v| v.parse().ok())).collect();
    let seen: Vec<i64> = values.iter().flatten().copied().collect();
    // A timer tick late into the next interval can leave one empty and share another: the newest value wins.
    assert!(seen.windows(2).all(|pair| pair[0] < pair[1]), "values grow:\n{text}");
    assert_eq!(seen.first(), Some(&-2), "{text}");
    assert_eq!(seen.last(), Some(&3), "{text}");
    assert!(values.contains(&None), "the interval of 0 has no value, printed `-`:\n{text}");
    // The graph starts after the time (12 columns) and a space: zero is column 53 * 2 / 5 = 21 of it, the
    // smallest value column 0 (over the `|`), the largest column 52.
    assert!(rows.iter().all(|row| row.as_bytes().get(13 + 21) == Some(&b'.')), "{text}");
    assert_eq!(rows[0].as_bytes()[13], b'*', "{text}");
    assert!(rows.last().is_some_and(|row| row.ends_with("* 3")), "{text}");
    let close = lines[at + 3 + rows.len()];
    assert_eq!(close, format!("{:12} v{}v", "", "_".repeat(51)), "{text}");
    assert_eq!(lines[at + 4 + rows.len()], scale, "{text}");
}

#[test]
fn clear_and_zero_empty_a_tseries() {
    if !can_trace("clear_and_zero_empty_a_tseries") {
        return;
    }
    // bpftrace's own tests: a cleared tseries prints nothing, a zeroed one has no interval left.
    let out = output_of(&["-e", "BEGIN { @[1] = tseries(1, 1ms, 5); clear(@); exit(); }"]);
    assert!(!out.contains('@'), "{out}");
    let out = output_of(&["-f", "json", "-e", "BEGIN { @a = tseries(3, 1s, 5, \"avg\"); zero(@a); exit(); }"]);
    assert!(tseries_json(&out).get("@a").is_none_or(|points| points == &Value::Array(Vec::new())), "{out}");
    // print() mid-run shows the map as it is then.
    let out = output_of(&["-e", "BEGIN { @t = tseries(42, 1s, 2); print(@t); clear(@t); exit(); }"]);
    assert!(out.contains("| 42\n"), "{out}");
}
