//! The fields a trace keys by or aggregates, by their names in the language.

/// A field of a typed probe (`dur`, `func`, `name`, ...) or a value every probe has (`cpu`, `comm`), named as in
/// the language. Which probe offers which field is listed on its constructor ([`Timer`](super::Timer), ...);
/// asking a probe for a field it lacks is [`TraceError::UnknownField`](super::TraceError::UnknownField).
///
/// ```
/// use jitterlib::trace::Field;
///
/// assert_eq!(Field::IcmpSeq.name(), "icmp_seq");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// `dur`: the duration the probe measures (ns).
    Dur,
    /// `vec`: a softirq's vector number.
    Vec,
    /// `name`: a softirq's name (`net_rx`).
    Name,
    /// `func`: a timer's callback (kernel symbol).
    Func,
    /// `late`: how long after its expiry a timer's callback started (ns).
    Late,
    /// `netns`: network namespace inode number (skb, ipvs_est).
    Netns,
    /// `hop`: the point a packet reached (skb).
    Hop,
    /// `prev`: the point a packet was at before (skb).
    Prev,
    /// `dev`: device name (skb).
    Dev,
    /// `proto`: `skb->protocol` in host order (skb).
    Proto,
    /// `len`: `skb->len` (skb).
    Len,
    /// `saddr`: IPv4 source address, dotted (skb).
    Saddr,
    /// `daddr`: IPv4 destination address, dotted (skb).
    Daddr,
    /// `sport`: TCP/UDP source port (skb).
    Sport,
    /// `dport`: TCP/UDP destination port (skb).
    Dport,
    /// `icmp_seq`: ICMP echo sequence number (skb).
    IcmpSeq,
    /// `icmp_id`: ICMP echo identifier (skb).
    IcmpId,
    /// `reason`: drop reason at `kfree_skb` (skb).
    Reason,
    /// `kind`: `hardirq` or `softirq` (irqoff).
    Kind,
    /// `victim`: the softirq that waited (stall).
    Victim,
    /// `culprit`: what took most of a wait, `timer:estimation_timer` (stall).
    Culprit,
    /// `culprit_time`: how long the culprit ran during the wait (ns) (stall).
    CulpritTime,
    /// `share`: the culprit's share of the wait, in percent (stall).
    Share,
    /// `unattributed`: the wait minus every culprit's time (ns) (stall).
    Unattributed,
    /// `cpu`: the CPU the probe ran on (every probe).
    Cpu,
    /// `comm`: the name of the task the probe interrupted or ran in (every probe).
    Comm,
}

impl Field {
    /// Every field, in declaration order.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert!(Field::ALL.contains(&Field::Dur));
    /// ```
    pub const ALL: [Field; 26] = [
        Field::Dur,
        Field::Vec,
        Field::Name,
        Field::Func,
        Field::Late,
        Field::Netns,
        Field::Hop,
        Field::Prev,
        Field::Dev,
        Field::Proto,
        Field::Len,
        Field::Saddr,
        Field::Daddr,
        Field::Sport,
        Field::Dport,
        Field::IcmpSeq,
        Field::IcmpId,
        Field::Reason,
        Field::Kind,
        Field::Victim,
        Field::Culprit,
        Field::CulpritTime,
        Field::Share,
        Field::Unattributed,
        Field::Cpu,
        Field::Comm,
    ];

    /// The field's name in the language.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert_eq!(Field::Dur.name(), "dur");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Field::Dur => "dur",
            Field::Vec => "vec",
            Field::Name => "name",
            Field::Func => "func",
            Field::Late => "late",
            Field::Netns => "netns",
            Field::Hop => "hop",
            Field::Prev => "prev",
            Field::Dev => "dev",
            Field::Proto => "proto",
            Field::Len => "len",
            Field::Saddr => "saddr",
            Field::Daddr => "daddr",
            Field::Sport => "sport",
            Field::Dport => "dport",
            Field::IcmpSeq => "icmp_seq",
            Field::IcmpId => "icmp_id",
            Field::Reason => "reason",
            Field::Kind => "kind",
            Field::Victim => "victim",
            Field::Culprit => "culprit",
            Field::CulpritTime => "culprit_time",
            Field::Share => "share",
            Field::Unattributed => "unattributed",
            Field::Cpu => "cpu",
            Field::Comm => "comm",
        }
    }
}
