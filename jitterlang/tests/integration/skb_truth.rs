//! Ground truth for `skb()`: pings whose sequence numbers and round trips the test knows, across a veth pair
//! between two namespaces, checked hop by hop. Each printed hop is one packet's: the hops of one echo (by
//! `icmp_seq` and direction) chain from the point it entered the stack, each starting where the previous one
//! ended; no hop goes back along the path; and an echo's hops fit inside the round trip ping measured. One ping
//! at a time, then a flood with a TCP stream alongside, then the same with GRO on the receiving veth (where
//! GRO merges free skbs with no tracepoint, the case `skb_reused` counts).

use crate::netns::VethPair;
use crate::runtime::{lost, Tracing};
use jitterlib::testing::can_trace;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Prints each hop of an ICMP echo in the pair's namespaces with the time the block ran (the filter keeps
/// other pings on the host, such as other tests', out of the ring buffer).
fn script(pair: &VethPair) -> String {
    let (a, b) = (pair.inode(0), pair.inode(1));
    format!(
        r#"skb() /icmp_seq > 0 && (netns == {a} || netns == {b})/ {{
             printf("%lu %d %s %s %d %s %s\n", nsecs, icmp_seq, prev, hop, dur, dev, saddr);
           }}"#
    )
}

/// How far a hop's start may be from where the packet's previous hop was printed: the time between a point's
/// stamp and its block reading `nsecs` (a few microseconds, more when an interrupt lands in between).
const CHAIN_SLACK_NS: i64 = 500_000;
/// How much later than ping's receive stamp jl may stamp the reply's arrival: ping's stamp is taken in
/// `netif_rx_internal` (`net_timestamp_check`) right before the tracepoint runs.
const ARRIVAL_SLACK_NS: u64 = 50_000;

/// One printed hop.
#[derive(Clone, Debug)]
struct Hop {
    /// `nsecs` when the block ran, shortly after the packet's stamp at `hop`.
    at: u64,
    seq: u64,
    prev: String,
    hop: String,
    dur: u64,
    dev: String,
    saddr: String,
}

impl Hop {
    /// About when the packet was at `prev` (as late as the block's delay at `hop`).
    fn start(&self) -> u64 {
        self.at - self.dur
    }
}

/// Where a point is on the veth path, in stack order; the ends (the skb freed or read) come last.
fn rank(point: &str) -> Option<u32> {
    match point {
        "net_dev_queue" => Some(0),
        "net_dev_start_xmit" => Some(1),
        "netif_rx" | "napi_gro_receive_entry" => Some(2),
        "netif_receive_skb" => Some(3),
        "consume_skb" | "kfree_skb" | "skb_copy_datagram_iovec" => Some(4),
        _ => None,
    }
}

/// What one run saw and checked.
#[derive(Debug, Default)]
struct Verdict {
    hops: usize,
    echoes: usize,
    complete: usize,
    broken: usize,
    reused: u64,
    out_of_order: u64,
    probe_misses: u64,
    events_lost: u64,
}

#[test]
fn skb_hops_are_each_one_packet_s_and_fit_its_round_trip() {
    if !can_trace("skb_hops_are_each_one_packet_s_and_fit_its_round_trip") {
        return;
    }
    let pair = VethPair::create("jlgt");
    let one = run(&pair, &["-c", "10", "-i", "0.1"], 2.5, false);
    eprintln!("one at a time: {one:?}");
    assert_eq!((one.echoes, one.complete + one.broken), (20, 20), "{one:?}");
    assert!(one.hops >= 4 * one.complete, "a whole echo has four hops on the pair: {one:?}");
    assert!(one.complete == 20 || one.probe_misses > 0, "{one:?}");

    let flood = run(&pair, &["-c", "2000", "-i", "0.001"], 5.0, true);
    eprintln!("flood with a TCP stream: {flood:?}");
    assert!(flood.complete >= 1000, "{flood:?}");

    pair.receive_through_gro();
    let gro = run(&pair, &["-c", "2000", "-i", "0.001"], 5.0, true);
    eprintln!("flood with a TCP stream, GRO on: {gro:?}");
    assert!(gro.complete >= 1000, "{gro:?}");
    assert!(gro.reused > 0, "GRO merges free skbs unseen, whose reused addresses are counted: {gro:?}");
}

/// Traces `ping ARGS` across `pair` (with a TCP stream alongside when `stream`) and checks every hop.
fn run(pair: &VethPair, ping: &[&str], seconds: f64, stream: bool) -> Verdict {
    let tracing = Tracing::start_with(&["-f", "json"], &script(pair), seconds);
    let sender = stream.then(|| tcp_stream(pair, Duration::from_secs_f64(seconds - 2.0)));
    let mut args = vec!["-n"];
    args.extend_from_slice(ping);
    let rtts = round_trips(&pair.ping_with(&args));
    if let Some(sender) = sender {
        sender.join().expect("the TCP stream");
    }
    let lines = tracing.finish();
    let hops: Vec<Hop> = parse(&lines).into_iter().filter(|hop| pair.devices.contains(&hop.dev)).collect();
    let mut verdict = Verdict {
        hops: hops.len(),
        reused: lost(&lines, "skb_reused"),
        out_of_order: lost(&lines, "skb_out_of_order"),
        probe_misses: lost(&lines, "probe_misses"),
        events_lost: lost(&lines, "events_lost"),
        ..Verdict::default()
    };
    for hop in &hops {
        let (from, to) = (rank(&hop.prev), rank(&hop.hop));
        assert!(from.is_some() && to.is_some() && from < to, "a hop against the path's order: {hop:?}");
        assert!(rtts.contains_key(&hop.seq), "icmp_seq {} was never sent: {hop:?}", hop.seq);
    }
    let mut echoes: BTreeMap<(u64, bool), Vec<Hop>> = BTreeMap::new();
    for hop in hops {
        echoes.entry((hop.seq, hop.saddr == pair.addresses[0])).or_default().push(hop);
    }
    verdict.echoes = echoes.len();
    let mut last_packets = BTreeMap::new();
    for ((seq, request), chain) in &mut echoes {
        chain.sort_by_key(|hop| hop.at);
        for packet in packets(chain) {
            if check_chain(packet, *request, pair) {
                verdict.complete += 1;
            } else {
                verdict.broken += 1;
            }
            last_packets.insert((*seq, *request), packet);
        }
    }
    for (seq, (rtt, precision)) in &rtts {
        if let (Some(request), Some(reply)) = (last_packets.get(&(*seq, true)), last_packets.get(&(*seq, false))) {
            fits_round_trip(request, reply, rtt + precision + ARRIVAL_SLACK_NS);
        }
    }
    let explained = verdict.reused + verdict.out_of_order + verdict.probe_misses + verdict.events_lost;
    assert!(verdict.broken as u64 <= explained, "echoes with hops missing, none counted as lost: {verdict:?}");
    verdict
}

/// Splits the hops of one sequence number and direction (in time order) into packets: ping sends a sequence
/// again when the kernel dropped it on the way out (`ENOBUFS` from a full veth ring), and that is another
/// packet, which starts at `net_dev_queue` after the first one ended where it was freed.
fn packets(chain: &[Hop]) -> Vec<&[Hop]> {
    let mut starts = vec![0];
    for i in 1..chain.len() {
        if chain[i].prev == "net_dev_queue" && rank(&chain[i - 1].hop) == Some(4) {
            starts.push(i);
        }
    }
    starts.iter().zip(starts.iter().skip(1).chain([&chain.len()])).map(|(&from, &to)| &chain[from..to]).collect()
}

/// Checks the hops of one packet (in time order) and says whether they are its whole path: each hop goes one
/// point on (or to a free), on the right device; a hop that follows the previous one printed starts where it ended; the path
/// starts at `net_dev_queue` and ends where the skb is freed or read.
fn check_chain(chain: &[Hop], request: bool, pair: &VethPair) -> bool {
    let (sender, receiver) = if request { (0, 1) } else { (1, 0) };
    let mut whole = chain.first().is_some_and(|hop| hop.prev == "net_dev_queue");
    for (i, hop) in chain.iter().enumerate() {
        let (from, to) = (rank(&hop.prev).unwrap(), rank(&hop.hop).unwrap());
        // A packet may be freed anywhere (the veth's NAPI ring full under the flood: a drop at kfree_skb).
        assert!(to == from + 1 || to == 4, "a hop over a point: {hop:?}");
        let device = if to == 1 {
            sender
        } else if to < 4 {
            receiver
        } else {
            hop_device(hop, pair)
        };
        assert_eq!(hop.dev, pair.devices[device], "{hop:?}");
        match i.checked_sub(1).map(|j| &chain[j]) {
            Some(last) if last.hop == hop.prev => {
                let gap = hop.start() as i64 - last.at as i64;
                assert!(gap.abs() <= CHAIN_SLACK_NS, "starts {gap} ns from where {last:?} ended: {hop:?}");
            }
            Some(last) => {
                assert!(rank(&last.hop) < rank(&hop.prev), "two hops of icmp_seq {} at one point: {chain:#?}", hop.seq);
                whole = false;
            }
            None => {}
        }
    }
    whole && chain.len() == 4 && chain.last().is_some_and(|hop| rank(&hop.hop) == Some(4))
}

/// The device an end point reports: the skb's last one.
fn hop_device(hop: &Hop, pair: &VethPair) -> usize {
    pair.devices.iter().position(|device| *device == hop.dev).expect("filtered on the pair's devices")
}

/// An echo's hops up to its reply's arrival back on the sender (the request's up to `netif_receive_skb`, the
/// reply's up to `netif_rx`) happen one after the other inside the round trip ping measured.
fn fits_round_trip(request: &[Hop], reply: &[Hop], rtt: u64) {
    let inside: u64 = request
        .iter()
        .filter(|hop| rank(&hop.hop) <= Some(3))
        .chain(reply.iter().filter(|hop| rank(&hop.hop) <= Some(2)))
        .map(|hop| hop.dur)
        .sum();
    assert!(inside <= rtt, "icmp_seq {}: hops sum to {inside} ns, ping measured {rtt} ns", request[0].seq);
}

/// Each echo's round trip from ping's output (`icmp_seq=N ttl=64 time=0.066 ms`), in ns, with half its last
/// printed digit.
fn round_trips(output: &str) -> BTreeMap<u64, (u64, u64)> {
    output
        .lines()
        .filter_map(|line| {
            let seq = line.split("icmp_seq=").nth(1)?.split(' ').next()?.parse().ok()?;
            let time = line.split("time=").nth(1)?.split(' ').next()?;
            let decimals = time.split('.').nth(1).map_or(0, str::len) as i32;
            let ms: f64 = time.parse().ok()?;
            Some((seq, ((ms * 1e6) as u64, (0.5e6 * 10f64.powi(-decimals)) as u64)))
        })
        .collect()
}

fn parse(lines: &[Value]) -> Vec<Hop> {
    crate::runtime::printed(lines)
        .into_iter()
        .map(|text| {
            let words: Vec<&str> = text.trim_end().split(' ').collect();
            assert_eq!(words.len(), 7, "{text:?}");
            let number = |word: &str| word.parse::<u64>().unwrap_or_else(|_| panic!("{word:?} in {text:?}"));
            Hop {
                at: number(words[0]),
                seq: number(words[1]),
                prev: words[2].into(),
                hop: words[3].into(),
                dur: number(words[4]),
                dev: words[5].into(),
                saddr: words[6].into(),
            }
        })
        .collect()
}

/// Sends TCP data from the first namespace to the second for `time`, on threads inside them.
fn tcp_stream(pair: &VethPair, time: Duration) -> std::thread::JoinHandle<()> {
    let (ready, bound) = std::sync::mpsc::channel();
    let address = format!("{}:5201", pair.addresses[1]);
    let listen = address.clone();
    let receiver = pair.in_namespace(1, move || {
        let listener = TcpListener::bind(&listen).expect("listen");
        ready.send(()).expect("say ready");
        let (mut stream, _) = listener.accept().expect("accept");
        let mut buffer = vec![0; 1 << 16];
        while stream.read(&mut buffer).expect("read") > 0 {}
    });
    bound.recv().expect("the listener");
    let sender = pair.in_namespace(0, move || {
        let mut stream = TcpStream::connect(&address).expect("connect");
        let chunk = vec![0x5a; 1 << 16];
        let end = Instant::now() + time;
        while Instant::now() < end {
            stream.write_all(&chunk).expect("write");
        }
    });
    std::thread::spawn(move || {
        sender.join().expect("the sender");
        receiver.join().expect("the receiver");
    })
}
