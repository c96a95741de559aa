//! The points `skb()` stamps a packet at, in path order, and how each is reached on this kernel: its
//! tracepoint, or a kernel function's entry by fentry or kprobe; with what `jl -v` says about the choice.

use super::super::reach::{self, Reached};
use super::super::{ProbeError, ProbeErrorKind};
use crate::kernel::{KernelError, KernelInfo, TracepointFormat};
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
}

const fn tracepoint(category: &'static str, name: &'static str, suffix: &'static str, role: Role) -> HopPoint {
    HopPoint { site: Site::Tracepoint(category), name, suffix, role, required: false }
}

const fn function(module: Option<&'static str>, name: &'static str, suffix: &'static str) -> HopPoint {
    HopPoint { site: Site::Function(module), name, suffix, role: Role::Start, required: false }
}

/// The transmit side: the first points of [`HOPS`].
pub(super) const TRANSMIT_POINTS: usize = 5;

/// Every point, in path order; `hop`/`prev` are indices into this table. `net_dev_queue` fires in
/// `__dev_queue_xmit`, so that function is not a point of its own.
pub(super) static HOPS: [HopPoint; 18] = [
    function(None, "ip_output", "ipout"),
    tracepoint("net", "net_dev_queue", "queue", Role::Start),
    function(Some("bridge"), "br_forward", "brfwd"),
    tracepoint("net", "net_dev_start_xmit", "xmit", Role::Start),
    function(Some("veth"), "veth_xmit", "veth"),
    tracepoint("net", "netif_rx", "rx", Role::Start),
    tracepoint("net", "napi_gro_receive_entry", "gro", Role::Start),
    HopPoint { required: true, ..tracepoint("net", "netif_receive_skb", "rcv", Role::Start) },
    function(Some("bridge"), "br_handle_frame_finish", "brin"),
    function(None, "ip_rcv", "iprcv"),
    function(None, "ip_forward", "ipfwd"),
    function(None, "ip_local_deliver", "iploc"),
    function(None, "icmp_rcv", "icmp"),
    function(None, "tcp_v4_rcv", "tcp"),
    function(None, "udp_rcv", "udp"),
    tracepoint("skb", "skb_copy_datagram_iovec", "copy", Role::End),
    HopPoint { required: true, ..tracepoint("skb", "kfree_skb", "kfree", Role::End) },
    HopPoint { required: true, ..tracepoint("skb", "consume_skb", "consume", Role::End) },
];

/// A point this kernel has: where its program attaches and where it finds what the prologue reads.
#[derive(Debug)]
pub(super) struct Record {
    /// Index in [`HOPS`].
    pub(super) hop: usize,
    /// Where the program attaches.
    pub(super) attach: Attach,
    /// Context offset of the skb's address (a tracepoint's `skbaddr`, a function's argument).
    pub(super) skb_at: u32,
    /// Context offset of a tracepoint's `__data_loc` device name.
    pub(super) dev_name: Option<u32>,
    /// Context offset of kfree_skb's drop reason.
    pub(super) reason: Option<u32>,
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
                Site::Tracepoint(category) => match kernel.tracepoint(category, point.name) {
                    Ok(format) => {
                        points.records.push(tracepoint_record(hop, &format)?);
                        ("tracepoints", String::new())
                    }
                    Err(KernelError::TracepointNotFound { .. }) if !point.required => {
                        let why = format!("this kernel has no tracepoint {category}:{}", point.name);
                        points.left_out.push((hop, why.clone()));
                        ("left out", format!("; {why}"))
                    }
                    Err(error) => return Err(ProbeError::new(ProbeErrorKind::Kernel, error.to_string())),
                },
                Site::Function(module) => match reach::reach(kernel, &probes, point.name, module, "sk_buff") {
                    Ok(Reached { attach, at, fentry_not_used }) => {
                        points.records.push(Record { hop, attach, skb_at: at, dev_name: None, reason: None });
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
        Ok(points)
    }
}

fn tracepoint_record(hop: usize, format: &TracepointFormat) -> Result<Record, ProbeError> {
    let skb_at = format.field("skbaddr").map(|field| field.offset).ok_or_else(|| {
        ProbeError::new(
            ProbeErrorKind::MissingTarget,
            format!("tracepoint {}:{} has no field `skbaddr` on this kernel", format.category, format.name),
        )
    })?;
    Ok(Record {
        hop,
        attach: Attach::Tracepoint { category: format.category.clone(), name: format.name.clone() },
        skb_at,
        dev_name: format.field("name").filter(|field| field.data_loc).map(|field| field.offset),
        reason: format.field("reason").filter(|field| field.size == 4).map(|field| field.offset),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{Availability, FixtureKernel, FunctionProbes};

    #[test]
    fn transmit_points_come_first() {
        let transmit = ["ip_output", "net_dev_queue", "br_forward", "net_dev_start_xmit", "veth_xmit"];
        let names: Vec<&str> = HOPS.iter().map(|point| point.name).collect();
        assert_eq!(names[..TRANSMIT_POINTS], transmit);
        assert!(HOPS.iter().all(|point| point.name.len() < 24), "hop names fit HOP_NAME_SIZE");
    }

    #[test]
    fn the_fixture_host_runs_tracepoints_only_and_says_why() {
        let points = Points::resolve(&FixtureKernel::bundled()).unwrap();
        assert_eq!(points.records.len(), 8);
        assert!(points.records.iter().all(|record| matches!(record.attach, Attach::Tracepoint { .. })));
        let [left_out, tracepoints] = &points.notes[..] else { panic!("{:#?}", points.notes) };
        assert!(
            left_out.starts_with(
                "left out: ip_output, br_forward, veth_xmit, br_handle_frame_finish, ip_rcv, ip_forward, \
                 ip_local_deliver, icmp_rcv, tcp_v4_rcv, udp_rcv; fentry: the kernel refuses fentry programs"
            ),
            "{left_out}"
        );
        assert!(left_out.contains("; kprobe: the kernel has no kprobes"), "{left_out}");
        assert!(tracepoints.starts_with("tracepoints: net_dev_queue, net_dev_start_xmit,"), "{tracepoints}");
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
