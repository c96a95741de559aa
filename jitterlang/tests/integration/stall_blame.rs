//! `stall()` against a culprit of known identity and length: packets steered by RPS onto a CPU whose task holds
//! softirqs off for a set time (a socket filter run with `BPF_PROG_TEST_RUN`, which disables bottom halves
//! around it, Linux 6.11 and later). The NET_RX softirq raised there by the RPS interrupt waits for the task; the
//! probe must report each such wait on that CPU with the task as the culprit that took nearly all of it.

use crate::netns::VethPair;
use crate::raw_bpf::pin_to;
use crate::runtime::{can_trace, printed, Tracing};
use crate::stall::{take_turn, Stall};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The CPU the task holds; the packets are sent from CPU 0.
const STALLED_CPU: usize = 1;
const HOLD_MS: u64 = 30;
const HOLDS: usize = 5;
const THRESHOLD_MS: u64 = 10;

/// One stall as the script prints it.
#[derive(Debug)]
struct Reported {
    cpu: usize,
    dur: u64,
    culprit: String,
    culprit_time: u64,
    share: u64,
    /// The second and third culprits' times, the other culprits' and the unattributed rest.
    rest: [u64; 4],
}

fn reported(line: &str) -> Reported {
    let words: Vec<&str> = line.split_whitespace().collect();
    let number = |i: usize| words[i].parse::<u64>().unwrap_or_else(|_| panic!("a number in {line:?}"));
    Reported {
        cpu: number(0) as usize,
        dur: number(1),
        culprit: words[2].to_string(),
        culprit_time: number(3),
        share: number(4),
        rest: [number(5), number(6), number(7), number(8)],
    }
}

/// Pings every millisecond from the first namespace, on CPU 0, for at most 10 s.
fn flood_from_cpu0(pair: &VethPair) -> Child {
    Command::new("taskset")
        .args(["-c", "0", "ip", "netns", "exec", &pair.namespaces[0], "ping", "-q", "-i", "0.001", "-w", "10"])
        .arg(pair.addresses[1])
        .stdout(Stdio::null())
        .spawn()
        .expect("run taskset ip netns exec ping")
}

#[test]
fn a_task_holding_softirqs_off_is_the_culprit_of_the_net_rx_waits_behind_it() {
    let test = "a_task_holding_softirqs_off_is_the_culprit_of_the_net_rx_waits_behind_it";
    if !can_trace(test) {
        return;
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(cpus > STALLED_CPU, "{test} needs two CPUs, this host has {cpus}");
    let _turn = take_turn();
    let pair = VethPair::create("jlst");
    pair.steer_received_to(STALLED_CPU);
    let hold = Stall::softirqs_off((HOLD_MS * 1_000_000) as u32).expect("load the busy-wait program");
    let mut pinger = flood_from_cpu0(&pair);
    let script = format!(
        "stall(\"net_rx\", {THRESHOLD_MS}ms) {{ printf(\"%d %d %s %d %d %d %d %d %d\\n\", cpu, dur, culprit, \
         culprit_time, share, culprit2_time, culprit3_time, others, unattributed); }}"
    );
    let tracing = Tracing::start(&script, 4.0);
    let triage = Tracing::start_bundled(&["--arg", "threshold=10ms"], "triage", 4.0);
    let holder = std::thread::Builder::new()
        .name("jl-bh-holder".into())
        .spawn(move || {
            pin_to(STALLED_CPU);
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::gettid() };
            for _ in 0..HOLDS {
                std::thread::sleep(Duration::from_millis(200));
                hold.run(STALLED_CPU as u32).expect("BPF_PROG_TEST_RUN with softirqs off");
            }
            tid
        })
        .expect("spawn");
    let tid = holder.join().expect("join");
    let lines = tracing.finish();
    let verdict = triage.finish_text();
    let _ = pinger.kill();
    let _ = pinger.wait();
    let stalls: Vec<Reported> = printed(&lines).iter().map(|line| reported(line)).collect();
    let culprit = format!("task:jl-bh-holder[{tid}]");
    let behind_holds: Vec<&Reported> = stalls.iter().filter(|stall| stall.culprit == culprit).collect();
    eprintln!("{test}: {stalls:?}");
    // A ping arrives every millisecond: nearly every hold delays one; allow a hold or two that no packet hit.
    assert!(behind_holds.len() >= HOLDS - 2, "{} of {HOLDS} holds seen as stalls: {stalls:#?}", behind_holds.len());
    for stall in &stalls {
        assert_eq!(stall.dur, stall.culprit_time + stall.rest.iter().sum::<u64>(), "the parts add up: {stall:?}");
        assert!(stall.dur >= THRESHOLD_MS * 1_000_000, "below the threshold: {stall:?}");
    }
    for stall in behind_holds {
        assert_eq!(stall.cpu, STALLED_CPU, "{stall:?}");
        assert!(stall.dur <= (HOLD_MS + 2) * 1_000_000, "a wait longer than the hold: {stall:?}");
        assert!(stall.share >= 90, "the holder took nearly all of the wait: {stall:?}");
    }
    // triage.jl's verdict names the stalled CPU, the worst wait and the holder with its share.
    let worst = stalls.iter().filter(|stall| stall.culprit == culprit).map(|stall| stall.dur).max().unwrap_or(0);
    let line = verdict.lines().find(|line| line.starts_with("VERDICT:")).unwrap_or_else(|| panic!("{verdict}"));
    eprintln!("{test}: {line}");
    let expected = format!("VERDICT: CPU {STALLED_CPU}: NET_RX waited ");
    assert!(line.starts_with(&expected) && line.contains(&format!("; {culprit} ran ")), "{line}");
    let waited: u64 = line[expected.len()..].split(' ').next().and_then(|us| us.parse().ok()).unwrap_or(0);
    let share: u64 = line.rsplit('(').next().and_then(|s| s.trim_end_matches("%)").parse().ok()).unwrap_or(0);
    // The two scripts see the same waits, each with its own clock reads: within 0.1 ms.
    assert!(waited.abs_diff(worst / 1000) <= 100, "verdict's wait {waited} us, worst stall {worst} ns: {line}");
    assert!(share >= 90, "{line}");
}
