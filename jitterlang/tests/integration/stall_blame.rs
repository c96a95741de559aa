//! `stall()` against culprits of known identity and length: packets steered by RPS onto a CPU whose task holds
//! softirqs off for a set time (a socket filter run with `BPF_PROG_TEST_RUN`, which disables bottom halves
//! around it, Linux 6.11 and later). The NET_RX softirq raised there by the RPS interrupt waits for the task; the
//! probe must report each such wait on that CPU with the task as the culprit that took nearly all of it. An
//! interrupt that holds the CPU inside such a wait (a program test-run on that CPU from another one, in the
//! call-function IPI, interrupts off) must be charged its own time as `hardirq:call_function_single`.

use crate::netns::VethPair;
use crate::raw_bpf::pin_to;
use crate::runtime::{printed, Tracing};
use crate::stall::{take_turn, Stall};
use jitterlib::testing::can_trace;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The CPU the task holds; the packets are sent from CPU 0.
const STALLED_CPU: usize = 1;
const THRESHOLD_MS: u64 = 10;
const MS: u64 = 1_000_000;

/// Each stall with its CPU, wait, top two culprits and the rest of the wait.
const SCRIPT: &str = "stall(\"net_rx\", 10ms) { printf(\"%d %d %s %d %d %s %d %d %d %d\\n\", cpu, dur, culprit, \
    culprit_time, share, culprit2, culprit2_time, culprit3_time, others, unattributed); }";

/// One stall as [`SCRIPT`] prints it.
#[derive(Debug)]
struct Reported {
    cpu: usize,
    dur: u64,
    culprit: String,
    culprit_time: u64,
    share: u64,
    culprit2: String,
    culprit2_time: u64,
    /// The third culprit's time, the other culprits' and the unattributed rest.
    rest: [u64; 3],
}

impl Reported {
    fn parse(line: &str) -> Reported {
        let words: Vec<&str> = line.split_whitespace().collect();
        let number = |i: usize| words[i].parse::<u64>().unwrap_or_else(|_| panic!("a number in {line:?}"));
        Reported {
            cpu: number(0) as usize,
            dur: number(1),
            culprit: words[2].to_string(),
            culprit_time: number(3),
            share: number(4),
            culprit2: words[5].to_string(),
            culprit2_time: number(6),
            rest: [number(7), number(8), number(9)],
        }
    }
}

/// Pings every millisecond from a namespace on CPU 0 into another whose device steers them to [`STALLED_CPU`];
/// stops when dropped.
struct SteeredPings {
    pinger: Child,
    _pair: VethPair,
}

impl SteeredPings {
    fn start() -> SteeredPings {
        let pair = VethPair::create("jlst");
        pair.steer_received_to(STALLED_CPU);
        let pinger = Command::new("taskset")
            .args(["-c", "0", "ip", "netns", "exec", &pair.namespaces[0], "ping", "-q", "-i", "0.001", "-w", "10"])
            .arg(pair.addresses[1])
            .stdout(Stdio::null())
            .spawn()
            .expect("run taskset ip netns exec ping");
        SteeredPings { pinger, _pair: pair }
    }
}

impl Drop for SteeredPings {
    fn drop(&mut self) {
        let _ = self.pinger.kill();
        let _ = self.pinger.wait();
    }
}

/// Whether the test can run here; as root on one CPU it fails rather than skip.
fn ready(test: &str) -> bool {
    if !can_trace(test) {
        return false;
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(cpus > STALLED_CPU, "{test} needs two CPUs, this host has {cpus}");
    true
}

/// Holds [`STALLED_CPU`] with softirqs off `holds` times for `hold_ms`, 200 ms apart, from a thread named
/// `jl-bh-holder` (the culprit `task:jl-bh-holder`); `during(i)` runs on CPU 0 once each hold has started.
fn hold_softirqs_off(hold_ms: u64, holds: usize, during: impl Fn(usize)) {
    let hold = Stall::softirqs_off((hold_ms * MS) as u32).expect("load the busy-wait program");
    let (started, holding) = std::sync::mpsc::channel();
    let holder = std::thread::Builder::new()
        .name("jl-bh-holder".into())
        .spawn(move || {
            pin_to(STALLED_CPU);
            for i in 0..holds {
                std::thread::sleep(Duration::from_millis(200));
                let _ = started.send(i);
                hold.run(STALLED_CPU as u32).expect("BPF_PROG_TEST_RUN with softirqs off");
            }
        })
        .expect("spawn");
    pin_to(0);
    for i in holding {
        during(i);
    }
    holder.join().expect("join")
}

fn stalls(lines: &[serde_json::Value]) -> Vec<Reported> {
    let stalls: Vec<Reported> = printed(lines).iter().map(|line| Reported::parse(line)).collect();
    for stall in &stalls {
        let parts = stall.culprit_time + stall.culprit2_time + stall.rest.iter().sum::<u64>();
        assert_eq!(stall.dur, parts, "the parts add up: {stall:?}");
        assert!(stall.dur >= THRESHOLD_MS * MS, "below the threshold: {stall:?}");
    }
    stalls
}

#[test]
fn a_task_holding_softirqs_off_is_the_culprit_of_the_net_rx_waits_behind_it() {
    let test = "a_task_holding_softirqs_off_is_the_culprit_of_the_net_rx_waits_behind_it";
    if !ready(test) {
        return;
    }
    let (hold_ms, holds) = (30, 5);
    let _turn = take_turn();
    let _pings = SteeredPings::start();
    let tracing = Tracing::start(SCRIPT, 4.0);
    let triage = Tracing::start_bundled(&["--arg", "threshold=10ms"], "triage", 4.0);
    hold_softirqs_off(hold_ms, holds, |_| {});
    let stalls = stalls(&tracing.finish());
    let verdict = triage.finish_text();
    // A task culprit is its name, whichever thread ran it.
    let culprit = "task:jl-bh-holder";
    let behind_holds: Vec<&Reported> = stalls.iter().filter(|stall| stall.culprit == culprit).collect();
    eprintln!("{test}: {stalls:?}");
    // A ping arrives every millisecond: nearly every hold delays one; allow a hold or two that no packet hit.
    assert!(behind_holds.len() >= holds - 2, "{} of {holds} holds seen as stalls: {stalls:#?}", behind_holds.len());
    for stall in &behind_holds {
        assert_eq!(stall.cpu, STALLED_CPU, "{stall:?}");
        assert!(stall.dur <= (hold_ms + 2) * MS, "a wait longer than the hold: {stall:?}");
        assert!(stall.share >= 90, "the holder took nearly all of the wait: {stall:?}");
    }
    // triage.jl's verdict names the stalled CPU, the worst wait and the holder with its share.
    let worst = behind_holds.iter().map(|stall| stall.dur).max().unwrap_or(0);
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

#[test]
fn an_interrupt_inside_a_wait_is_charged_its_own_time() {
    let test = "an_interrupt_inside_a_wait_is_charged_its_own_time";
    if !ready(test) {
        return;
    }
    let (hold_ms, holds, ipi_ms) = (40, 4, 15);
    let _turn = take_turn();
    let ipi = Stall::irqs_off((ipi_ms * MS) as u32).expect("load the busy-wait program");
    let _pings = SteeredPings::start();
    let tracing = Tracing::start(SCRIPT, 4.0);
    hold_softirqs_off(hold_ms, holds, |_| {
        // Well inside the hold: NET_RX is pending behind the holder when the interrupt comes.
        std::thread::sleep(Duration::from_millis(10));
        ipi.run(STALLED_CPU as u32).expect("BPF_PROG_TEST_RUN on the stalled CPU");
    });
    let stalls = stalls(&tracing.finish());
    eprintln!("{test}: {stalls:?}");
    let interrupted: Vec<&Reported> =
        stalls.iter().filter(|stall| stall.culprit2 == "hardirq:call_function_single").collect();
    assert!(interrupted.len() >= holds - 2, "{} of {holds} interrupted holds seen: {stalls:#?}", interrupted.len());
    for stall in interrupted {
        assert_eq!(stall.cpu, STALLED_CPU, "{stall:?}");
        assert_eq!(stall.culprit, "task:jl-bh-holder", "the holder took the rest: {stall:?}");
        let ipi_ns = ipi_ms * MS;
        assert!(stall.culprit2_time >= ipi_ns && stall.culprit2_time <= ipi_ns + MS, "the interrupt's time: {stall:?}");
        assert!(stall.dur <= (hold_ms + 2) * MS, "a wait longer than the hold: {stall:?}");
    }
}
