//! The REPL through a real terminal: tmux runs `jl`, send-keys types, capture-pane reads the screen.

use crate::netns::VethPair;
use jitterlib::testing::{can_trace, skip};
use std::process::Command;
use std::time::Duration;

/// A tmux session running `jl` with no script; killed when dropped.
struct Terminal {
    name: String,
}

impl Terminal {
    /// `jl` with `options` (no script) in a new tmux session `name`.
    fn start(name: &str, options: &str) -> Option<Terminal> {
        let jl = env!("CARGO_BIN_EXE_jl");
        let history = std::env::temp_dir().join(format!("{name}.history"));
        let ok = tmux(&["new-session", "-d", "-s", name, "-x", "150", "-y", "60"])
            && tmux(&["set-option", "-t", name, "remain-on-exit", "on"])
            && tmux(&[
                "respawn-pane",
                "-k",
                "-t",
                name,
                &format!("JL_HISTORY={} {jl} {options}; echo jl-exit-status=$?", history.display()),
            ]);
        ok.then(|| Terminal { name: name.to_string() })
    }

    fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.name];
        args.extend_from_slice(keys);
        assert!(tmux(&args), "tmux send-keys {keys:?}");
        std::thread::sleep(Duration::from_millis(700));
    }

    fn screen(&self) -> String {
        let output = Command::new("tmux").args(["capture-pane", "-p", "-S", "-200", "-t", &self.name]).output();
        output.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
    }

    /// Waits until jl has left (detaching waits for the kernel, an RCU grace period per program: allow it a few
    /// seconds).
    fn wait_for_exit(&self) {
        for _ in 0..50 {
            if self.pane_state().split_whitespace().count() == 2 {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// tmux's `pane_dead pane_dead_status` ("1 0": the shell running jl has exited).
    fn pane_state(&self) -> String {
        let output = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.name, "#{pane_dead} #{pane_dead_status}"])
            .output();
        output.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        tmux(&["kill-session", "-t", &self.name]);
    }
}

fn tmux(args: &[&str]) -> bool {
    Command::new("tmux").args(args).status().is_ok_and(|status| status.success())
}

#[test]
fn repl_attaches_prints_completes_and_detaches_on_ctrl_d() {
    if !can_trace("repl_attaches_prints_completes_and_detaches_on_ctrl_d") {
        return;
    }
    let Some(terminal) = Terminal::start(&format!("jl-repl-{}", std::process::id()), "") else {
        skip("repl_attaches_prints_completes_and_detaches_on_ctrl_d", "tmux is not installed");
        return;
    };
    std::thread::sleep(Duration::from_millis(500));
    terminal.send(&["interval:ms:100 {", "Enter"]);
    terminal.send(&["@ticks = count(); }", "Enter"]);
    terminal.send(&[".print", "Enter"]);
    let screen = terminal.screen();
    assert!(screen.contains("#1 attached"), "multi-line entry attached:\n{screen}");
    let ticks: Vec<u64> = screen
        .lines()
        .filter_map(|line| line.strip_prefix("#1 @ticks: "))
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    assert!(ticks.first().is_some_and(|n| *n > 0), "`.print` shows the live count:\n{screen}");

    terminal.send(&["tracepoint:irq:softirq_ent", "Tab"]);
    terminal.send(&[" { @[args.vec] = count(); }", "Enter"]);
    let screen = terminal.screen();
    assert!(screen.contains("tracepoint:irq:softirq_entry { @[args.vec]"), "Tab completed the tracepoint:\n{screen}");
    assert!(screen.contains("#2 attached"), "{screen}");

    terminal.send(&["timer() { @x = cuont(); }", "Enter"]);
    assert!(terminal.screen().contains("error[E0200]: unknown function `cuont`"), "{}", terminal.screen());

    terminal.send(&[".detach 1", "Enter"]);
    terminal.send(&[".list", "Enter"]);
    let screen = terminal.screen();
    assert!(screen.contains("#1 detached"), "{screen}");
    assert!(screen.contains("#2 attached"), "{screen}");

    terminal.send(&["C-d"]);
    terminal.wait_for_exit();
    let screen = terminal.screen();
    assert!(screen.contains("jl-exit-status=0"), "Ctrl-D leaves with status 0:\n{screen}");
    let screen = terminal.screen();
    assert!(screen.lines().any(|line| line.starts_with("@[")), "final maps of #2 printed on Ctrl-D:\n{screen}");
}

#[test]
fn repl_applies_the_command_line_options() {
    if !can_trace("repl_applies_the_command_line_options") {
        return;
    }
    let options = "--unsafe --map-keys 2";
    let Some(terminal) = Terminal::start(&format!("jl-repl-options-{}", std::process::id()), options) else {
        skip("repl_applies_the_command_line_options", "tmux is not installed");
        return;
    };
    std::thread::sleep(Duration::from_millis(500));
    terminal.send(&[r#"BEGIN { system("echo ran-by-%s", "system"); }"#, "Enter"]);
    let screen = terminal.screen();
    assert!(screen.contains("ran-by-system"), "--unsafe allows system() at the prompt:\n{screen}");

    // Four threads call getppid; a map of two keys holds two of them, however many run.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // SAFETY: getppid has no preconditions.
                    unsafe { libc::getppid() };
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        })
        .collect();
    terminal.send(&["tracepoint:syscalls:sys_enter_getppid { @calls[tid] = count(); }", "Enter"]);
    terminal.send(&[".print", "Enter"]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    callers.into_iter().for_each(|caller| caller.join().expect("a getppid caller"));
    let screen = terminal.screen();
    let keys = screen.lines().filter(|line| line.trim_start_matches("#2 ").starts_with("@calls[")).count();
    assert_eq!(keys, 2, "--map-keys 2 limits the map at the prompt:\n{screen}");
    terminal.send(&["C-d"]);
}

#[test]
fn repl_ends_quietly_when_its_output_pipe_closes() {
    let name = format!("jl-repl-pipe-{}", std::process::id());
    let files = std::env::temp_dir().join(&name);
    let (errors, status) = (files.with_extension("err"), files.with_extension("status"));
    let jl = env!("CARGO_BIN_EXE_jl");
    // `| true`: the reader exits at once, so the prompt's replies meet a closed pipe (its banner may too).
    let command = format!(
        "sh -c 'JL_HISTORY={} {jl} 2>{}; echo $? >{}' | true; sleep 60",
        files.with_extension("history").display(),
        errors.display(),
        status.display()
    );
    if !(tmux(&["new-session", "-d", "-s", &name, "-x", "150", "-y", "60"])
        && tmux(&["respawn-pane", "-k", "-t", &name, &command]))
    {
        skip("repl_ends_quietly_when_its_output_pipe_closes", "tmux is not installed");
        return;
    }
    let terminal = Terminal { name };
    std::thread::sleep(Duration::from_millis(500));
    terminal.send(&[".help", "Enter"]);
    terminal.send(&[".list", "Enter"]);
    let status = std::fs::read_to_string(&status).unwrap_or_default();
    let errors = std::fs::read_to_string(&errors).unwrap_or_default();
    assert_eq!(status.trim(), "0", "jl's exit status; stderr:\n{errors}\nscreen:\n{}", terminal.screen());
    assert!(errors.is_empty(), "stderr:\n{errors}");
}

#[test]
fn repl_takes_map_statements_and_bare_commands() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: repl_takes_map_statements_and_bare_commands: needs root to attach probes");
        return;
    }
    let Some(terminal) = Terminal::start(&format!("jl-repl-statements-{}", std::process::id()), "") else {
        panic!("repl_takes_map_statements_and_bare_commands needs tmux");
    };
    std::thread::sleep(Duration::from_millis(500));
    terminal.send(&["help", "Enter"]);
    assert!(terminal.screen().contains("Statements on the maps"), "`help` without a dot:\n{}", terminal.screen());
    // BEGIN writes @m once; the interval keeps the script attached and counting.
    terminal.send(&[r#"BEGIN { @m[1] = 10; @m[2] = 20; @s["a b"] = 1; } interval:ms:100 { @c = count(); }"#, "Enter"]);
    assert!(terminal.screen().contains("#1 attached"), "{}", terminal.screen());
    terminal.send(&["print(@c)", "Enter"]);
    let screen = terminal.screen();
    assert!(screen.lines().any(|line| line.starts_with("#1 @c: ")), "print(@c):\n{screen}");
    terminal.send(&[".print @m", "Enter"]);
    let screen = terminal.screen();
    assert_eq!(reply_to(&screen, ".print @m"), ["#1 @m[1]: 10", "@m[2]: 20"], ".print @m:\n{screen}");

    terminal.send(&["delete(@m, 1)", "Enter"]);
    terminal.send(&[r#"delete(@s["a b"])"#, "Enter"]);
    terminal.send(&["delete(@m, 7)", "Enter"]);
    terminal.send(&["print(@m)", "Enter"]);
    let screen = terminal.screen();
    assert!(screen.contains("#1 @m: key deleted"), "{screen}");
    assert!(screen.contains("#1 @s: key deleted"), "{screen}");
    assert!(screen.contains("#1 @m has no such key"), "{screen}");
    assert_eq!(reply_to(&screen, "print(@m)"), ["#1 @m[2]: 20"], "only @m[2] is left:\n{screen}");

    terminal.send(&["clear(@m)", "Enter"]);
    terminal.send(&["print(@m)", "Enter"]);
    terminal.send(&["print(@nothing)", "Enter"]);
    terminal.send(&["delete(@m)", "Enter"]);
    let screen = terminal.screen();
    assert_eq!(reply_to(&screen, "clear(@m)"), ["#1 @m cleared"], "{screen}");
    assert_eq!(reply_to(&screen, "print(@m)"), ["#1: no data yet"], "{screen}");
    assert!(screen.contains("no attached script has a map @nothing (maps: @c, @m, @s)"), "{screen}");
    assert!(screen.contains("usage: delete(@map, key)"), "{screen}");

    terminal.send(&["quit", "Enter"]);
    terminal.wait_for_exit();
    assert!(terminal.screen().contains("jl-exit-status=0"), "`quit` without a dot leaves:\n{}", terminal.screen());
}

#[test]
fn repl_deletes_and_clears_keys_of_a_histogram_kept_in_an_array() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: repl_deletes_and_clears_keys_of_a_histogram_kept_in_an_array: needs root");
        return;
    }
    let name = format!("jl-repl-name-array-{}", std::process::id());
    let Some(terminal) = Terminal::start(&name, "") else {
        panic!("repl_deletes_and_clears_keys_of_a_histogram_kept_in_an_array needs tmux");
    };
    std::thread::sleep(Duration::from_millis(500));
    // `@h` (by name) is an array of names x buckets: its slots cannot be deleted, only zeroed.
    terminal.send(&[
        r#"softirq() /name == "rcu" || name == "irq_poll"/ { @h[name] = hist(dur); @c[name] = count(); }"#,
        "Enter",
    ]);
    assert!(terminal.screen().contains("#1 attached"), "{}", terminal.screen());
    std::thread::sleep(Duration::from_millis(300));
    terminal.send(&[r#"delete(@h, "rcu")"#, "Enter"]);
    terminal.send(&[r#"delete(@h, "irq_poll")"#, "Enter"]);
    terminal.send(&[r#"delete(@h, "nosuch")"#, "Enter"]);
    terminal.send(&[r#"delete(@c, "rcu")"#, "Enter"]);
    let screen = terminal.screen();
    assert_eq!(reply_to(&screen, r#"delete(@h, "rcu")"#), ["#1 @h: key deleted"], "{screen}");
    assert_eq!(reply_to(&screen, r#"delete(@h, "irq_poll")"#), ["#1 @h has no such key"], "never written:\n{screen}");
    assert!(screen.contains(r#""nosuch" is not one of @h's keys"#), "{screen}");
    assert_eq!(reply_to(&screen, r#"delete(@c, "rcu")"#), ["#1 @c: key deleted"], "{screen}");
    terminal.send(&["clear(@h)", "Enter"]);
    let screen = terminal.screen();
    assert_eq!(reply_to(&screen, "clear(@h)"), ["#1 @h cleared"], "{screen}");
    terminal.send(&["quit", "Enter"]);
    terminal.wait_for_exit();
}

#[test]
fn repl_deletes_a_key_of_two_names_from_maps_kept_in_arrays() {
    if !can_trace("repl_deletes_a_key_of_two_names_from_maps_kept_in_arrays") {
        return;
    }
    let pair = VethPair::create("jlrd");
    let name = format!("jl-repl-name-pair-{}", std::process::id());
    let Some(terminal) = Terminal::start(&name, "") else {
        panic!("repl_deletes_a_key_of_two_names_from_maps_kept_in_arrays needs tmux");
    };
    std::thread::sleep(Duration::from_millis(500));
    // `@h` and `@c`, keyed by two points, are arrays of points x points (x buckets): a key's slots are zeroed.
    // Only the pings count (not the namespaces' own IPv6 traffic): no packet comes after them.
    let script = format!(
        "skb() /icmp_seq > 0 && netns == {}/ {{ @h[prev, hop] = hist(dur); @c[prev, hop] = count(); }}",
        pair.inode(1)
    );
    terminal.send(&[&script, "Enter"]);
    assert!(terminal.screen().contains("#1 attached"), "{}", terminal.screen());
    pair.ping(2);
    let (key, other) = (r#"("netif_rx", "netif_receive_skb")"#, r#"("kfree_skb", "kfree_skb")"#);
    for command in [
        format!("delete(@h, {key})"),
        format!("delete(@h, {key})"),
        format!("delete(@c, {key})"),
        format!("delete(@c, {other})"),
        r#"delete(@c, ("netif_rx", "nosuch"))"#.to_string(),
    ] {
        terminal.send(&[&command, "Enter"]);
    }
    terminal.send(&["print(@c)", "Enter"]);
    let screen = terminal.screen();
    let replies = |command: String| reply_to(&screen, &command).join("\n");
    assert_eq!(replies(format!("delete(@c, {key})")), "#1 @c: key deleted", "{screen}");
    assert_eq!(replies(format!("delete(@c, {other})")), "#1 @c has no such key", "never written:\n{screen}");
    assert!(screen.contains(&format!("jl> delete(@h, {key})\n#1 @h: key deleted\n")), "{screen}");
    assert!(screen.contains(&format!("jl> delete(@h, {key})\n#1 @h has no such key\n")), "deleted:\n{screen}");
    assert!(screen.contains(r#""nosuch" is not one of @c's keys"#), "{screen}");
    let printed = reply_to(&screen, "print(@c)");
    assert!(printed.iter().any(|line| line.contains("@c[net_dev_start_xmit, netif_rx]: 2")), "{screen}");
    assert!(!printed.iter().any(|line| line.contains("[netif_rx, netif_receive_skb]")), "deleted:\n{screen}");
    terminal.send(&["quit", "Enter"]);
    terminal.wait_for_exit();
}

/// The lines the prompt printed after the last time `command` was entered, up to the next prompt.
fn reply_to<'s>(screen: &'s str, command: &str) -> Vec<&'s str> {
    let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
    let entered = format!("jl> {command}");
    let Some(at) = lines.iter().rposition(|line| *line == entered) else { return Vec::new() };
    lines[at + 1..].iter().take_while(|line| !line.starts_with("jl>")).copied().collect()
}

#[test]
fn status_line_shows_divisions_by_zero_apart_from_lost_data() {
    if !can_trace("status_line_shows_divisions_by_zero_apart_from_lost_data") {
        return;
    }
    // The status line of a script run on a terminal (not the REPL): a division by 0 alters a value, loses nothing.
    let options = "-e 'interval:ms:50 { @z = 0; @q = 10 / (uint64)@z; }'";
    let Some(terminal) = Terminal::start(&format!("jl-status-{}", std::process::id()), options) else {
        skip("status_line_shows_divisions_by_zero_apart_from_lost_data", "tmux is not installed");
        return;
    };
    std::thread::sleep(Duration::from_millis(2500));
    let screen = terminal.screen();
    let status = screen.lines().find(|line| line.starts_with("[jl] ")).unwrap_or_else(|| panic!("{screen}"));
    let divided: u64 = status
        .split("divided by 0 ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of divisions by 0: {status}"));
    assert!(divided > 0 && status.contains("lost 0  truncated 0  divided by 0 "), "{status}");
    terminal.send(&["C-c"]);
    terminal.wait_for_exit();
    assert!(terminal.screen().contains("divisions or remainders by 0"), "{}", terminal.screen());
}
