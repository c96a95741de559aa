//! The points `skb()` stamps a packet at, in path order, and how each is reached on this kernel: its
//! tracepoint (tp_btf, raw or perf-event: [`TracepointHook`]; the skb is argument 0 of every one), or a kernel
//! function's entry by fentry or kprobe; with what `jl -v` says about the choice.
//!
//! Each point lists the points the same skb can reach next ([`HopPoint::next`]): the stack's call graph
//! between them, including its loops (a veth or loopback transmit delivers to the receive path, a bridge or
//! IPVS or `ip_forward` sends a received skb out, a tunnel's decapsulation (`ip_local_deliver`'s IPIP, GRE
//! and ESP handlers, `udp_rcv`'s VXLAN and FOU) re-enters the receive path with the same skb, a stacked
//! device's transmit (bridge, VLAN, tunnel) queues it on the device below). A hop is reported only when its
//! point can follow the packet's last one through points this kernel does not stamp
//! ([`Record::follows`]); the others (`icmp_rcv -> ip_local_deliver`) are dropped and counted.

use super::super::reach::{self, Reached};
use super::super::tracepoint_hook::{Context, TracepointHook};
use super::super::ProbeError;
use crate::kernel::{KernelError, KernelInfo, TracepointMechanism};
use crate::session::Attach;

/// What a point does with the packet's entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    /// A packet may start here: an absent entry is created.
    Start,
    /// The packet's journey ends here: the entry is deleted. The skb is freed, or its data reached a reader
    /// (TCP frees read skbs without a tracepoint, so their entries would outlive them).
    End,
}

/// Where a point is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Site {
    /// The tracepoint of that category named like the point.
    Tracepoint(&'static str),
    /// The entry of the kernel function named like the point, which may live in that module.
    Function(Option<&'static str>),
}

/// One point a packet can cross.
#[derive(Debug)]
pub(super) struct HopPoint {
    site: Site,
    pub(super) name: &'static str,
    pub(super) suffix: &'static str,
    pub(super) role: Role,
    required: bool,
    /// The skb is freed here, which may happen after any point.
    frees: bool,
    /// The points the same skb may reach next, besides the frees.
    next: &'static [&'static str],
}

const fn tracepoint(
    category: &'static str,
    name: &'static str,
    suffix: &'static str,
    role: Role,
    next: &'static [&'static str],
) -> HopPoint {
    HopPoint { site: Site::Tracepoint(category), name, suffix, role, required: false, frees: false, next }
}

const fn function(
    module: Option<&'static str>,
    name: &'static str,
    suffix: &'static str,
    next: &'static [&'static str],
) -> HopPoint {
    HopPoint { site: Site::Function(module), name, suffix, role: Role::Start, required: false, frees: false, next }
}

/// Where a received skb may go from the start of the receive path: on through the bridge or IPv4, out again
/// (OVS, tc and BPF redirects: `dev_queue_xmit`), or to a receive path's start (an OVS internal port, mirred
/// to ingress). IPv4 skbs received as a list (GRO's `gro_normal_list`, `netif_receive_skb_list`) go through
/// `ip_list_rcv`, which checks the header itself (`ip_rcv_core`) and routes them to `ip_local_deliver` or
/// `ip_forward` without `ip_rcv`. Not to `netif_receive_skb` again: the same point twice in a row is a reused
/// address.
const RECEIVED: &[&str] =
    &["br_handle_frame_finish", "ip_rcv", "ip_local_deliver", "ip_forward", "net_dev_queue", "netif_rx"];

/// The transmit side: the first points of [`HOPS`].
pub(super) const TRANSMIT_POINTS: usize = 5;

/// Every point, in path order; `hop`/`prev` are indices into this table. `net_dev_queue` fires in
/// `__dev_queue_xmit`, so that function is not a point of its own.
pub(super) static HOPS: [HopPoint; 18] = [
    function(None, "ip_output", "ipout", &["net_dev_queue"]),
    tracepoint("net", "net_dev_queue", "queue", Role::Start, &["net_dev_start_xmit"]),
    function(Some("bridge"), "br_forward", "brfwd", &["net_dev_queue"]),
    tracepoint(
        "net",
        "net_dev_start_xmit",
        "xmit",
        Role::Start,
        &["veth_xmit", "br_forward", "net_dev_queue", "ip_output", "netif_rx"],
    ),
    function(Some("veth"), "veth_xmit", "veth", &["netif_rx", "napi_gro_receive_entry"]),
    tracepoint("net", "netif_rx", "rx", Role::Start, &["netif_receive_skb"]),
    tracepoint("net", "napi_gro_receive_entry", "gro", Role::Start, &["netif_receive_skb"]),
    HopPoint { required: true, ..tracepoint("net", "netif_receive_skb", "rcv", Role::Start, RECEIVED) },
    function(Some("bridge"), "br_handle_frame_finish", "brin", &["netif_receive_skb", "br_forward"]),
    function(None, "ip_rcv", "iprcv", &["ip_forward", "ip_local_deliver"]),
    function(None, "ip_forward", "ipfwd", &["ip_output"]),
    function(
        None,
        "ip_local_deliver",
        "iploc",
        &["icmp_rcv", "tcp_v4_rcv", "udp_rcv", "ip_output", "netif_rx", "napi_gro_receive_entry", "netif_receive_skb"],
    ),
    // An ICMP datagram ("ping") socket queues the echo reply's skb itself (ping_rcv: skb_get).
    function(None, "icmp_rcv", "icmp", &["skb_copy_datagram_iovec"]),
    function(None, "tcp_v4_rcv", "tcp", &["skb_copy_datagram_iovec"]),
    function(
        None,
        "udp_rcv",
        "udp",
        &["skb_copy_datagram_iovec", "tcp_v4_rcv", "netif_rx", "napi_gro_receive_entry", "netif_receive_skb"],
    ),
    tracepoint("skb", "skb_copy_datagram_iovec", "copy", Role::End, &[]),
    HopPoint { required: true, frees: true, ..tracepoint("skb", "kfree_skb", "kfree", Role::End, &[]) },
    HopPoint { required: true, frees: true, ..tracepoint("skb", "consume_skb", "consume", Role::End, &[]) },
];

// `Record::follows` has one bit per point, and BPF tests it with a 32-bit immediate.
const _: () = assert!(HOPS.len() < 32);

/// A point this kernel has: where its program attaches and where it finds what the prologue reads.
#[derive(Debug)]
pub(super) struct Record {
    /// Index in [`HOPS`].
    pub(super) hop: usize,
    /// Where the program attaches.
    pub(super) attach: Attach,
    /// Context offset of the skb's address (a tracepoint's argument or `skbaddr`, a function's argument).
    pub(super) skb_at: u32,
    /// Context offset of a tracepoint record's `__data_loc` device name (elsewhere it is read from the skb).
    pub(super) dev_name: Option<u32>,
    /// Context offset of kfree_skb's drop reason (an argument or a record field).
    pub(super) reason: Option<u32>,
    /// The points this one may follow, one bit per index in [`HOPS`]: those from which the skb can get here
    /// through points this kernel does not stamp. Every point for the frees.
    pub(super) follows: u32,
}

/// The points of this kernel, and what `jl -v` says about them.
#[derive(Debug)]
pub(super) struct Points {
    /// The points that run, in path order.
    pub(super) records: Vec<Record>,
    /// The points left out, with why.
    pub(super) left_out: Vec<(usize, String)>,
    /// One line per way points are reached (tracepoints, fentry, kprobe) and per reason points are left out.
    pub(super) notes: Vec<String>,
}

impl Points {
    /// Finds every point on `kernel`: tracepoints always, function points by the best mechanism there is.
    pub(super) fn resolve(kernel: &dyn KernelInfo) -> Result<Points, ProbeError> {
        let probes = kernel.function_probes();
        let mut points = Points { records: Vec::new(), left_out: Vec::new(), notes: Vec::new() };
        let mut groups: Vec<((&str, String), Vec<&str>)> = Vec::new();
        for (hop, point) in HOPS.iter().enumerate() {
            let how = match point.site {
                Site::Tracepoint(category) => match TracepointHook::resolve(kernel, category, point.name, None) {
                    Ok(hook) => {
                        points.records.push(tracepoint_record(kernel, hop, &hook)?);
                        let head = match hook.mechanism {
                            TracepointMechanism::TpBtf => "tp_btf",
                            TracepointMechanism::RawTracepoint => "raw tracepoints",
                            TracepointMechanism::PerfEvent => "perf-event tracepoints",
                        };
                        (head, hook.not_used().map(|why| format!("; {why}")).unwrap_or_default())
                    }
                    Err(KernelError::TracepointNotFound { .. }) if !point.required => {
                        let why = format!("this kernel has no tracepoint {category}:{}", point.name);
                        points.left_out.push((hop, why.clone()));
                        ("left out", format!("; {why}"))
                    }
                    Err(error) => return Err(error.into()),
                },
                Site::Function(module) => match reach::reach(kernel, &probes, point.name, module, "sk_buff") {
                    Ok(Reached { attach, at, fentry_not_used }) => {
                        points.records.push(Record {
                            hop,
                            attach,
                            skb_at: at,
                            dev_name: None,
                            reason: None,
                            follows: 0,
                        });
                        match fentry_not_used {
                            None => ("fentry", " (kprobe not needed: fentry costs less per call)".to_string()),
                            Some(why) => ("kprobe", format!("; fentry not used: {why}")),
                        }
                    }
                    Err(why) => {
                        points.left_out.push((hop, why.clone()));
                        ("left out", format!("; {why}"))
                    }
                },
            };
            match groups.iter_mut().find(|(group, _)| *group == how) {
                Some((_, names)) => names.push(point.name),
                None => groups.push((how, vec![point.name])),
            }
        }
        points.notes =
            groups.into_iter().map(|((head, tail), names)| format!("{head}: {}{tail}", names.join(", "))).collect();
        points.link();
        Ok(points)
    }

    /// Sets each record's [`Record::follows`]: the frees follow anything; another point follows the stamped
    /// points it is reachable from through points left out.
    fn link(&mut self) {
        let stamped: u32 = self.records.iter().map(|record| 1 << record.hop).sum();
        let mut follows = [0u32; HOPS.len()];
        for record in &self.records {
            for reached in reachable(record.hop, stamped) {
                follows[reached] |= 1 << record.hop;
            }
        }
        for record in &mut self.records {
            record.follows = if HOPS[record.hop].frees { u32::MAX } else { follows[record.hop] };
        }
    }
}

/// The stamped points (bits of `stamped`) an skb at `from` can reach next, through points left out.
fn reachable(from: usize, stamped: u32) -> Vec<usize> {
    let mut seen = 0u32;
    let mut found = Vec::new();
    let mut pending: Vec<usize> = successors(from).collect();
    while let Some(hop) = pending.pop() {
        if seen & (1 << hop) != 0 {
            continue;
        }
        seen |= 1 << hop;
        if stamped & (1 << hop) != 0 {
            found.push(hop);
        } else {
            pending.extend(successors(hop));
        }
    }
    found
}

fn successors(hop: usize) -> impl Iterator<Item = usize> {
    HOPS[hop].next.iter().map(|name| hop_index(name))
}

/// The index of a point in [`HOPS`] (the names in [`HopPoint::next`] are checked by a test).
fn hop_index(name: &str) -> usize {
    HOPS.iter().position(|point| point.name == name).expect("a point of HOPS")
}

fn tracepoint_record(kernel: &dyn KernelInfo, hop: usize, hook: &TracepointHook) -> Result<Record, ProbeError> {
    let (dev_name, reason) = match &hook.context {
        Context::Record(format) => (
            format.field("name").filter(|field| field.data_loc).map(|field| field.offset),
            format.field("reason").filter(|field| field.size == 4).map(|field| field.offset),
        ),
        Context::Args => (None, reason_arg(kernel, HOPS[hop].name)?),
    };
    Ok(Record { hop, attach: hook.attach.clone(), skb_at: hook.offset(0, "skbaddr")?, dev_name, reason, follows: 0 })
}

/// The context offset of tracepoint `name`'s `reason` argument (kfree_skb's from Linux 5.17), as the kernel's
/// BTF names its arguments; `None` without one (or without BTF: the reason then reads 0).
fn reason_arg(kernel: &dyn KernelInfo, name: &str) -> Result<Option<u32>, ProbeError> {
    let params = match kernel.raw_tracepoint_params(name) {
        Ok(params) => params.unwrap_or_default(),
        Err(KernelError::Btf { .. } | KernelError::Io { .. }) => Vec::new(),
        Err(error) => return Err(error.into()),
    };
    Ok(params.iter().position(|(arg, _)| arg == "reason").map(|at| 8 * at as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{Availability, FixtureKernel, FunctionProbes, TracepointProbes};

    #[test]
    fn transmit_points_come_first() {
        let transmit = ["ip_output", "net_dev_queue", "br_forward", "net_dev_start_xmit", "veth_xmit"];
        let names: Vec<&str> = HOPS.iter().map(|point| point.name).collect();
        assert_eq!(names[..TRANSMIT_POINTS], transmit);
    }

    #[test]
    fn next_names_points() {
        for point in &HOPS {
            for name in point.next {
                assert!(HOPS.iter().any(|other| other.name == *name), "{} -> {name}", point.name);
            }
        }
    }

    /// The names of the points a record may follow.
    fn follows(points: &Points, name: &str) -> Vec<&'static str> {
        let record = points.records.iter().find(|record| HOPS[record.hop].name == name).expect(name);
        HOPS.iter().enumerate().filter(|(hop, _)| record.follows & (1 << hop) != 0).map(|(_, p)| p.name).collect()
    }

    #[test]
    fn points_follow_their_predecessors_through_points_left_out() {
        let available = FunctionProbes { fentry: Availability::Available, kprobe: Availability::Available };
        let all = Points::resolve(&FixtureKernel::bundled().with_function_probes(available)).unwrap();
        assert_eq!(follows(&all, "ip_local_deliver"), ["netif_receive_skb", "ip_rcv"]);
        assert_eq!(follows(&all, "ip_forward"), ["netif_receive_skb", "ip_rcv"]);
        assert_eq!(follows(&all, "icmp_rcv"), ["ip_local_deliver"]);
        assert_eq!(
            follows(&all, "netif_receive_skb"),
            ["netif_rx", "napi_gro_receive_entry", "br_handle_frame_finish", "ip_local_deliver", "udp_rcv"]
        );
        assert_eq!(follows(&all, "kfree_skb").len(), HOPS.len());
        let tracepoints = Points::resolve(&FixtureKernel::bundled()).unwrap();
        assert_eq!(follows(&tracepoints, "netif_rx"), ["net_dev_start_xmit", "netif_receive_skb"]);
        assert_eq!(follows(&tracepoints, "net_dev_queue"), ["net_dev_start_xmit", "netif_receive_skb"]);
        assert_eq!(follows(&tracepoints, "skb_copy_datagram_iovec"), ["netif_receive_skb"]);
    }

    #[test]
    fn the_fixture_host_runs_tracepoints_only_and_says_why() {
        let points = Points::resolve(&FixtureKernel::bundled()).unwrap();
        assert_eq!(points.records.len(), 8);
        assert!(points.records.iter().all(|record| matches!(record.attach, Attach::RawTracepoint { .. })));
        assert!(points.records.iter().all(|record| (record.skb_at, record.dev_name) == (0, None)));
        let kfree = points.records.iter().find(|record| HOPS[record.hop].name == "kfree_skb").unwrap();
        assert_eq!(kfree.reason, Some(16), "kfree_skb(skb, location, reason, rx_sk)");
        let [left_out, tracepoints] = &points.notes[..] else { panic!("{:#?}", points.notes) };
        assert!(
            left_out.starts_with(
                "left out: ip_output, br_forward, veth_xmit, br_handle_frame_finish, ip_rcv, ip_forward, \
                 ip_local_deliver, icmp_rcv, tcp_v4_rcv, udp_rcv; fentry: the kernel refuses fentry programs"
            ),
            "{left_out}"
        );
        assert!(left_out.contains("; kprobe: the kernel has no kprobes"), "{left_out}");
        assert!(tracepoints.starts_with("raw tracepoints: net_dev_queue, net_dev_start_xmit,"), "{tracepoints}");
    }

    #[test]
    fn tracepoint_points_fall_back_to_perf_event_records() {
        let probes = TracepointProbes::all().using(TracepointMechanism::PerfEvent, "forced");
        let points = Points::resolve(&FixtureKernel::bundled().with_tracepoint_probes(probes)).unwrap();
        assert!(points.records.iter().all(|record| matches!(record.attach, Attach::Tracepoint { .. })));
        assert!(points.records.iter().all(|record| record.skb_at > 0), "skbaddr follows the common fields");
        assert!(points.records.iter().any(|record| record.dev_name.is_some()), "net: tracepoints name the device");
        let perf = points.notes.last().unwrap();
        assert!(perf.starts_with("perf-event tracepoints: net_dev_queue,"), "{perf}");
        assert!(perf.ends_with("; raw tracepoints not used: forced"), "{perf}");
    }

    #[test]
    fn function_points_use_fentry_else_kprobe() {
        let available = FunctionProbes { fentry: Availability::Available, kprobe: Availability::Available };
        let points = Points::resolve(&FixtureKernel::bundled().with_function_probes(available)).unwrap();
        assert_eq!(points.records.len(), 18);
        let ip_output = &points.records[0];
        assert_eq!((&ip_output.attach, ip_output.skb_at), (&Attach::Fentry { function: "ip_output".into() }, 16));
        let refused =
            FunctionProbes { fentry: Availability::Unavailable("turned off".into()), kprobe: Availability::Available };
        let points = Points::resolve(&FixtureKernel::bundled().with_function_probes(refused)).unwrap();
        assert!(points.notes.iter().any(|note| note.starts_with("kprobe: ip_output, br_forward,")
            && note.ends_with("udp_rcv; fentry not used: turned off")));
        assert_eq!(points.records[0].attach, Attach::Kprobe { function: "ip_output".into() });
    }
}
