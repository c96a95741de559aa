//! `skb(FILTER?)`: a packet's path through the stack, hop by hop, keyed by its `struct sk_buff`.
//!
//! One program per point a packet crosses ([`points::HOPS`]): the net and skb tracepoints (net_dev_queue,
//! net_dev_start_xmit, netif_rx, napi_gro_receive_entry, netif_receive_skb, and the ends
//! skb_copy_datagram_iovec (data read by a socket's reader), kfree_skb and consume_skb), and the entries of
//! kernel functions on the way (ip_output, br_forward, veth_xmit, br_handle_frame_finish, ip_rcv, ip_forward,
//! ip_local_deliver, icmp_rcv, tcp_v4_rcv, udp_rcv), by fentry where the kernel allows it, else by kprobe,
//! else left out (`jl -v` says which and why). Each looks the skb's address up in a hash map of (time, point,
//! data buffer, identity): when it is there and is the same packet, the block runs with `dur` (time since that
//! point, `prev`) and the entry moves on to this point; when it is not there, the packet starts here (the ends
//! never start one). The ends delete the entry; a failed insertion (map full) is counted in the lost-data
//! counters. The first point in path order, where sent packets begin, inserts the entry first and looks it up
//! only when it is there (one map operation instead of two for a new packet).
//!
//! # One packet per hop
//!
//! An address seen again is not proof of the same packet: many skbs end without the kfree_skb or consume_skb
//! tracepoint, and their memory is reused at once, often with the same data buffer (slab freelists are LIFO
//! per CPU). In net/core/skbuff.c, `kfree_skb_partial` (TCP coalescing) and `napi_skb_free_stolen_head` (GRO
//! merges, `NAPI_GRO_FREE_STOLEN_HEAD` in net/core/gro.c) free the `sk_buff` with `kmem_cache_free` or put it
//! in the per-CPU NAPI cache (`napi_skb_cache_put`, handed out again by `napi_skb_cache_get`), `__kfree_skb`
//! and `__napi_kfree_skb` (GRO's other merged skbs, TCP's read and acknowledged ones in net/ipv4/tcp*.c) free
//! without a tracepoint, `napi_reuse_skb` hands a merged skb back to the driver, and `skb_attempt_defer_free`
//! frees on another CPU later. Beyond these, the kernel skips a tracepoint or kprobe program that would nest
//! in another one on its CPU (`bpf_prog_active`, the program's `active` count): an end can be missed on any
//! path. So a hop is checked to be one packet's rather than trusting the free paths to be complete:
//!
//! - **identity**: at every point the entry's data buffer (`skb->head`) must be the packet's, and where the
//!   IPv4 header is readable both times its identity must match: the IP id with a transport word the stack
//!   does not rewrite on the way, NAT included (TCP's sequence number, ICMP's bytes 4-7: an echo's id and
//!   sequence, UDP's length). A packet never crosses one point twice in a row, and a local socket's packet
//!   never reaches the transmit side from the receive side (`ip_forward` drops skbs with a socket). Otherwise
//!   the address holds another packet: the hop is dropped and counted (`skb_reused`);
//! - **path order**: each point accepts only the points that can precede it on the stack's call graph
//!   through points this kernel does not stamp ([`points`]): `icmp_rcv -> ip_local_deliver` or a hop over a
//!   point whose program was skipped is dropped and counted (`skb_out_of_order`).
//!
//! Either way the packet at this point starts afresh. Two packets can still pair only if one ended unseen,
//! its address and data buffer were reused by a packet with the same IPv4 id and transport word (a TCP
//! retransmission of the same segment with the same IP id, never two pings), and the new one appeared where
//! the old one's path could lead; packets that are not IPv4 rely on the data buffer and the path order alone.
//!
//! Tracepoints run on every kernel from 5.17 on (kfree_skb with a drop reason) and need no kprobes or
//! trampolines: a script works wherever they exist, with the function points as extra detail. They are raw
//! tracepoints where the kernel has them (the skb is argument 0, the device `skb->dev->name`), else perf-event
//! tracepoints (the record's `skbaddr` and device `name`). net:net_dev_xmit is left out: it fires after the driver returned, when
//! the skb may already be freed or handed to a peer (veth).
//!
//! FILTER is a hop name (only hops arriving at that point run the block; the others only stamp), a minimum
//! duration (`skb(50ms)`: faster hops are dropped in BPF before any packet field is read), or both.

use super::{
    EmitEnv, Field, FieldSource, FieldType, Point, Probe, ProbeArg, ProbeError, ProbeErrorKind, ProbeKind, ProbeSpec,
};
use crate::agg::EnumNames;
use crate::insn::{AluOp, Builder, Helper, JmpOp, Label, Reg, Size};
use crate::kernel::KernelInfo;
use crate::maps::{MapKind, MapSpec};
use crate::session::Attach;

mod points;

use points::{Points, Record, Role, HOPS, TRANSMIT_POINTS};

/// Registry entry.
pub(super) static KIND: ProbeKind = ProbeKind {
    name: "skb",
    aliases: &[],
    syntax: "skb(), skb(\"HOP\"), skb(MIN_DURATION) or skb(\"HOP\", MIN_DURATION)",
    about: "each hop of a packet between two points of the stack (tracepoints, fentry/kprobe functions), with its \
            latency",
    fields: &[
        ("hop", "the point the packet reached (netif_receive_skb, ip_rcv, icmp_rcv, net_dev_queue, kfree_skb, ...)"),
        ("prev", "the point it was at before"),
        ("dur", "time from prev to hop (ns)"),
        ("netns", "network namespace inode number (from the device, else the socket; 0 when neither)"),
        ("dev", "device name (empty when none)"),
        ("proto", "skb->protocol in host order (0x800 IPv4, 0x86dd IPv6)"),
        ("len", "skb->len in bytes"),
        ("saddr", "IPv4 source address, dotted (empty when not IPv4)"),
        ("daddr", "IPv4 destination address, dotted (empty when not IPv4)"),
        ("sport", "TCP/UDP source port (0 otherwise)"),
        ("dport", "TCP/UDP destination port (0 otherwise)"),
        ("icmp_seq", "ICMP echo request/reply sequence number (0 otherwise)"),
        ("icmp_id", "ICMP echo request/reply identifier (0 otherwise)"),
        ("reason", "drop reason at kfree_skb (enum skb_drop_reason, by name), SKB_NOT_DROPPED_YET elsewhere"),
    ],
    targets: None,
    resolve,
};

/// Entries of the in-flight map: packets between two points at once.
const IN_FLIGHT: u32 = 16_384;

/// In-flight entry layout: time of the last point, its index, the skb's data buffer then (`skb->head`) and
/// the packet's identity (0 while unknown: see [`Skb::emit_identity`]).
const ENTRY_TIME: i16 = 0;
const ENTRY_HOP: i16 = 8;
const ENTRY_HEAD: i16 = 16;
const ENTRY_IDENTITY: i16 = 24;
const ENTRY_SIZE: u32 = 32;

/// Stack layout of the prologue (top of frame). Addresses keep saddr in the low and daddr in the high word.
const STACK_DUR: i16 = -8;
const STACK_NETNS: i16 = -16;
const STACK_PROTO: i16 = -24;
const STACK_LEN: i16 = -32;
const STACK_ADDRS: i16 = -40;
const STACK_SPORT: i16 = -48;
const STACK_DPORT: i16 = -56;
const STACK_ICMP_SEQ: i16 = -64;
const STACK_REASON: i16 = -72;
const STACK_PREV: i16 = -88;
const STACK_HOP: i16 = -80;
const STACK_DEV: i16 = -104;
const STACK_KEY: i16 = -112;
/// Scratch: pointers read on the way; the new entry.
const STACK_SCRATCH: i16 = -120;
const STACK_ENTRY: i16 = -152;
/// 0, or 0x100 | the IP protocol once the IPv4 header (20 bytes) and the transport header's first 8 bytes
/// were read (zeros where the transport header was unreadable).
const STACK_IPV4: i16 = -160;
/// The IPv4 header's 20 bytes, the transport header's first 8 right after them (read together when the IPv4
/// header has no options).
const STACK_IP: i16 = -192;
const STACK_L4: i16 = STACK_IP + 20;
const STACK_ICMP_ID: i16 = -200;
/// The skb members read before pairing ([`SKB_SPAN`] bytes, or one 8-byte slot each).
const STACK_SKB: i16 = -232;
const STACK_BYTES: u32 = 232;
/// Up to this many bytes of `struct sk_buff` holding `protocol`, `network_header` and `head` are read with one
/// helper call (24 in every kernel since 3.x: they sit next to each other), else each member with its own.
const SKB_SPAN: u32 = 32;

/// `ETH_P_IP` as `skb->protocol` holds it (big endian) read as a little-endian u16.
const ETH_P_IP_RAW: i32 = 0x0008;
const IPPROTO_ICMP: i32 = 1;
const IPPROTO_TCP: i32 = 6;
const IPPROTO_UDP: i32 = 17;
const ICMP_ECHO_REPLY: i32 = 0;
const ICMP_ECHO: i32 = 8;

/// Kernel struct offsets (BTF) of what is read from the skb.
#[derive(Debug)]
struct Layout {
    skb_dev: u32,
    skb_sk: u32,
    skb_len: u32,
    skb_protocol: u32,
    skb_network_header: u32,
    skb_head: u32,
    dev_name: u32,
    /// `net_device.nd_net`, `sock_common.skc_net`, `net.ns` + `ns_common.inum`: absent without network
    /// namespaces (`possible_net_t` is then empty).
    netns: Option<NetnsLayout>,
}

#[derive(Debug)]
struct NetnsLayout {
    dev_net: u32,
    sock_net: u32,
    inum: u32,
}

#[derive(Debug)]
struct Skb {
    hop_filter: Option<usize>,
    min_dur: Option<u64>,
    points: Points,
    layout: Layout,
    fields: Vec<Field>,
    read: FieldsRead,
}

/// Which of the packet's fields the block reads: the others cost no kernel read (see
/// [`Probe::only_fields_read`]). `hop`, `prev`, `dur` and `proto` come with the pairing.
#[derive(Debug)]
struct FieldsRead {
    hop: bool,
    dev: bool,
    netns: bool,
    len: bool,
    reason: bool,
    /// Addresses, ports, the ICMP echo's identifier and sequence.
    ipv4: bool,
}

impl FieldsRead {
    const ALL: FieldsRead = FieldsRead { hop: true, dev: true, netns: true, len: true, reason: true, ipv4: true };
}

fn resolve(spec: &ProbeSpec, kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    let (hop_filter, min_dur) = filter(spec)?;
    let points = Points::resolve(kernel)?;
    if let Some(wanted) = hop_filter {
        if let Some((_, why)) = points.left_out.iter().find(|(hop, _)| *hop == wanted) {
            let running: Vec<&str> = points.records.iter().map(|record| HOPS[record.hop].name).collect();
            return Err(ProbeError::new(
                ProbeErrorKind::MissingTarget,
                format!("skb() cannot stamp packets at {} on this kernel: {why}", HOPS[wanted].name),
            )
            .with_hint(format!("points this kernel has: {}", running.join(", ")))
            .at(0));
        }
    }
    Ok(Box::new(Skb {
        hop_filter,
        min_dur,
        points,
        layout: layout(kernel)?,
        fields: fields(kernel),
        read: FieldsRead::ALL,
    }))
}

/// Reads FILTER: a hop name, a minimum duration, or both (in either order).
fn filter(spec: &ProbeSpec) -> Result<(Option<usize>, Option<u64>), ProbeError> {
    let ProbeSpec::Typed { args, .. } = spec else {
        return Err(ProbeError::bad_spec("`skb` is written skb(), skb(\"HOP\") or skb(50ms)").at(0));
    };
    if args.len() > 2 {
        return Err(ProbeError::bad_spec(
            "`skb` takes at most a hop name and a minimum duration: skb(\"netif_receive_skb\", 1ms)",
        )
        .at(2));
    }
    let (mut hop, mut min_dur) = (None, None);
    for (position, arg) in args.iter().enumerate() {
        match arg {
            ProbeArg::Str(name) | ProbeArg::Ident(name) if hop.is_none() => hop = Some(hop_index(name, position)?),
            ProbeArg::Int(ns) if min_dur.is_none() => min_dur = Some(*ns),
            _ => {
                return Err(ProbeError::bad_spec("`skb` takes one hop name and one minimum duration")
                    .with_hint("skb(\"netif_receive_skb\", 1ms): hops arriving at netif_receive_skb slower than 1 ms")
                    .at(position))
            }
        }
    }
    Ok((hop, min_dur))
}

fn hop_index(name: &str, position: usize) -> Result<usize, ProbeError> {
    HOPS.iter().position(|point| point.name == name).ok_or_else(|| {
        let names: Vec<&str> = HOPS.iter().map(|point| point.name).collect();
        let hint = match super::nearest(name, &names) {
            Some(near) => format!("did you mean `{near}`? hops: {}", names.join(", ")),
            None => format!("a hop name ({}) or a minimum duration such as 50ms", names.join(", ")),
        };
        ProbeError::bad_spec(format!("`{name}` is not a point skb() follows")).with_hint(hint).at(position)
    })
}

fn layout(kernel: &dyn KernelInfo) -> Result<Layout, ProbeError> {
    let member = |structure: &str, name: &str| -> Result<Option<crate::kernel::Member>, ProbeError> {
        kernel.struct_member(structure, name).map_err(ProbeError::from)
    };
    let required = |structure: &str, name: &str| -> Result<u32, ProbeError> {
        member(structure, name)?.map(|member| member.offset).ok_or_else(|| {
            ProbeError::new(ProbeErrorKind::MissingTarget, format!("BTF has no member {structure}.{name}"))
                .with_hint("skb() reads the packet through the kernel's BTF (/sys/kernel/btf/vmlinux)")
        })
    };
    let pointer = |structure: &str, name: &str| -> Result<Option<u32>, ProbeError> {
        Ok(member(structure, name)?.filter(|member| member.size == 8).map(|member| member.offset))
    };
    let netns = match (
        pointer("net_device", "nd_net")?,
        pointer("sock_common", "skc_net")?,
        member("net", "ns")?,
        member("ns_common", "inum")?,
    ) {
        (Some(dev_net), Some(sock_net), Some(ns), Some(inum)) => {
            Some(NetnsLayout { dev_net, sock_net, inum: ns.offset + inum.offset })
        }
        _ => None,
    };
    Ok(Layout {
        skb_dev: required("sk_buff", "dev")?,
        skb_sk: required("sk_buff", "sk")?,
        skb_len: required("sk_buff", "len")?,
        skb_protocol: required("sk_buff", "protocol")?,
        skb_network_header: required("sk_buff", "network_header")?,
        skb_head: required("sk_buff", "head")?,
        dev_name: required("net_device", "name")?,
        netns,
    })
}

/// The fields of every point; `reason` is the kernel's `enum skb_drop_reason` where BTF has it (printed by name).
fn fields(kernel: &dyn KernelInfo) -> Vec<Field> {
    let stack =
        |name: &str, ty: FieldType, offset: i16| Field { name: name.into(), ty, source: FieldSource::Stack { offset } };
    let int = FieldType::Int { size: 8, signed: false };
    let reason = super::btf_args::kernel_enum(kernel, "enum skb_drop_reason")
        .map_or(int, |found| super::btf_args::enum_field(&found, 8, false));
    let computed =
        |name: &str, size: u32| Field { name: name.into(), ty: FieldType::Str { size }, source: FieldSource::Computed };
    let hop = FieldType::Name { names: EnumNames::table("skb hop", HOPS.iter().map(|point| point.name)) };
    vec![
        stack("hop", hop, STACK_HOP),
        stack("prev", hop, STACK_PREV),
        stack("dur", FieldType::Duration, STACK_DUR),
        stack("netns", int, STACK_NETNS),
        computed("dev", 16),
        stack("proto", int, STACK_PROTO),
        stack("len", int, STACK_LEN),
        computed("saddr", 16),
        computed("daddr", 16),
        stack("sport", int, STACK_SPORT),
        stack("dport", int, STACK_DPORT),
        stack("icmp_seq", int, STACK_ICMP_SEQ),
        stack("icmp_id", int, STACK_ICMP_ID),
        stack("reason", reason, STACK_REASON),
    ]
}

impl Skb {
    fn fires(&self, record: &Record) -> bool {
        self.hop_filter.is_none() || self.hop_filter == Some(record.hop)
    }

    /// Pairs this point with the packet's last one: leaves through `exit` unless the block should run, with
    /// `dur` and `prev` (its index in [`HOPS`]; `hop` is this program's point) on the stack and `r7` holding
    /// the skb.
    fn emit_pairing(&self, b: &mut Builder, env: &EmitEnv, record: &Record, fires: bool) {
        let point = &HOPS[record.hop];
        let map = env.maps[0];
        b.load(Size::DW, Reg::R7, env.ctx, record.skb_at as i16);
        b.store(Size::DW, Reg::R10, STACK_KEY, Reg::R7);
        self.emit_headers(b);
        emit_identity(b);
        b.call(Helper::KtimeGetNs);
        b.mov64(Reg::R8, Reg::R0);
        if point.role == Role::Start && record.hop == self.points.records[0].hop {
            b.comment("where sent packets begin: a new entry, else the packet's entry as below");
            let there = b.new_label();
            emit_new_entry(b, record);
            crate::maps::map_insert(b, map, STACK_KEY, STACK_ENTRY);
            b.jump_if(JmpOp::Eq, Reg::R0, -crate::maps::EEXIST, there);
            env.map_updates.emit_count(b);
            b.jump(env.exit);
            b.bind(there);
        }
        map_call(b, Helper::MapLookupElem, map, None);
        let seen = b.new_label();
        b.jump_if(JmpOp::Ne, Reg::R0, 0, seen);
        if point.role == Role::Start {
            b.comment("first point of this packet: remember it");
            emit_new_entry(b, record);
            map_call(b, Helper::MapUpdateElem, map, Some(STACK_ENTRY));
            env.map_updates.emit_count(b);
        }
        b.jump(env.exit);
        b.bind(seen);
        b.mov64(Reg::R9, Reg::R0);
        let reused = b.new_label();
        let out_of_order = (record.follows != u32::MAX).then(|| b.new_label());
        self.emit_same_packet(b, record, reused);
        b.load(Size::W, Reg::R1, Reg::R9, ENTRY_HOP);
        if let Some(out_of_order) = out_of_order {
            b.comment("a point the packet's last one can lead to");
            b.mov64(Reg::R2, record.follows as i32);
            b.alu64(AluOp::Rsh, Reg::R2, Reg::R1);
            b.alu64(AluOp::And, Reg::R2, 1);
            b.jump_if(JmpOp::Eq, Reg::R2, 0, out_of_order);
        }
        emit_hop(b, record, fires, map);
        if fires {
            self.emit_min_dur(b, env.exit);
        }
        let after = b.new_label();
        b.jump(after);
        emit_restart(b, env, record, reused, out_of_order);
        b.bind(after);
    }

    /// Jumps to `reused` unless the entry in `r9` is the packet at this point: the same data buffer, the same
    /// identity where both are known, not this very point (a packet never crosses one point twice in a row),
    /// and not a local socket's packet reaching the transmit side from the receive side (forwarded and
    /// bridged packets have no socket: `ip_forward` drops those that do). Uses r1-r3.
    fn emit_same_packet(&self, b: &mut Builder, record: &Record, reused: Label) {
        b.comment("the same packet: data buffer, identity, point, socket");
        let identified = b.new_label();
        b.load(Size::DW, Reg::R2, Reg::R9, ENTRY_HEAD);
        b.load(Size::DW, Reg::R3, Reg::R10, STACK_ENTRY + ENTRY_HEAD);
        b.jump_if(JmpOp::Ne, Reg::R2, Reg::R3, reused);
        b.load(Size::DW, Reg::R2, Reg::R9, ENTRY_IDENTITY);
        b.load(Size::DW, Reg::R3, Reg::R10, STACK_ENTRY + ENTRY_IDENTITY);
        b.jump_if(JmpOp::Eq, Reg::R2, 0, identified);
        b.jump_if(JmpOp::Eq, Reg::R3, 0, identified);
        b.jump_if(JmpOp::Ne, Reg::R2, Reg::R3, reused);
        b.bind(identified);
        b.load(Size::W, Reg::R1, Reg::R9, ENTRY_HOP);
        b.jump_if(JmpOp::Eq, Reg::R1, record.hop as i32, reused);
        if record.hop < TRANSMIT_POINTS {
            let follows = b.new_label();
            b.jump_if(JmpOp::Lt, Reg::R1, TRANSMIT_POINTS as i32, follows);
            super::read_kernel(b, STACK_SCRATCH, 8, Reg::R7, self.layout.skb_sk as i32);
            b.load(Size::DW, Reg::R1, Reg::R10, STACK_SCRATCH);
            b.jump_if(JmpOp::Ne, Reg::R1, 0, reused);
            b.bind(follows);
        }
    }

    /// Leaves through `exit` when `dur` is below the minimum duration of the filter.
    fn emit_min_dur(&self, b: &mut Builder, exit: Label) {
        let Some(min) = self.min_dur else { return };
        b.load(Size::DW, Reg::R1, Reg::R10, STACK_DUR);
        super::jump_if_below(b, Reg::R1, min, exit);
    }

    /// Reads `skb->head` into the new entry, `skb->protocol` into `STACK_PROTO` (network order) and, for an
    /// IPv4 packet whose network header is set (it is not in a NIC driver's skb before `netif_receive_skb`) and
    /// says version 4 with a valid length, its 20 bytes into `STACK_IP` and the transport header's first 8 bytes
    /// (right after the IP options, on both the transmit and the receive side) into `STACK_L4`; `STACK_IPV4`
    /// says whether. Both headers come with one read when the IPv4 header has no options (the transport header
    /// is then right behind it). Uses r1-r5, r8 and r9.
    fn emit_headers(&self, b: &mut Builder) {
        let layout = &self.layout;
        let done = b.new_label();
        b.comment("skb members, IPv4 and transport headers");
        b.store_imm(Size::DW, Reg::R10, STACK_IPV4, 0);
        let members =
            [(layout.skb_protocol, Size::H), (layout.skb_network_header, Size::H), (layout.skb_head, Size::DW)];
        let [protocol, network_header, head] = emit_read_members(b, Reg::R7, members);
        b.load(Size::DW, Reg::R1, Reg::R10, head);
        b.store(Size::DW, Reg::R10, STACK_ENTRY + ENTRY_HEAD, Reg::R1);
        b.load(Size::H, Reg::R1, Reg::R10, protocol);
        b.store(Size::DW, Reg::R10, STACK_PROTO, Reg::R1);
        b.jump_if(JmpOp::Ne, Reg::R1, ETH_P_IP_RAW, done);
        b.load(Size::H, Reg::R8, Reg::R10, network_header);
        b.jump_if(JmpOp::Eq, Reg::R8, 0, done);
        b.load(Size::DW, Reg::R1, Reg::R10, STACK_ENTRY + ENTRY_HEAD);
        b.alu64(AluOp::Add, Reg::R8, Reg::R1);
        b.stack_pointer(Reg::R1, STACK_IP);
        b.mov64(Reg::R2, 28);
        b.mov64(Reg::R3, Reg::R8);
        b.call(Helper::ProbeReadKernel);
        b.jump_if(JmpOp::Ne, Reg::R0, 0, done);
        b.load(Size::B, Reg::R1, Reg::R10, STACK_IP);
        b.mov64(Reg::R2, Reg::R1);
        b.alu64(AluOp::Rsh, Reg::R2, 4);
        b.jump_if(JmpOp::Ne, Reg::R2, 4, done);
        b.alu64(AluOp::And, Reg::R1, 0xf);
        b.jump_if(JmpOp::Lt, Reg::R1, 5, done);
        b.load(Size::B, Reg::R9, Reg::R10, STACK_IP + 9);
        let transport_read = b.new_label();
        b.jump_if(JmpOp::Eq, Reg::R1, 5, transport_read);
        b.comment("IP options: the transport header is behind them");
        b.alu64(AluOp::Lsh, Reg::R1, 2);
        b.alu64(AluOp::Add, Reg::R8, Reg::R1);
        b.stack_pointer(Reg::R1, STACK_L4);
        b.mov64(Reg::R2, 8);
        b.mov64(Reg::R3, Reg::R8);
        b.call(Helper::ProbeReadKernel);
        b.bind(transport_read);
        b.alu64(AluOp::Or, Reg::R9, 0x100);
        b.store(Size::DW, Reg::R10, STACK_IPV4, Reg::R9);
        b.bind(done);
    }

    /// Reads the packet's fields the block reads onto the stack (the skb in `r7`, the record in `ctx`).
    fn emit_packet_fields(&self, b: &mut Builder, ctx: Reg, record: &Record) {
        let (layout, read) = (&self.layout, &self.read);
        if read.hop {
            b.store_imm(Size::DW, Reg::R10, STACK_HOP, record.hop as i32);
        }
        if read.reason {
            match record.reason {
                Some(offset) => {
                    b.load(Size::W, Reg::R1, ctx, offset as i16);
                    b.store(Size::DW, Reg::R10, STACK_REASON, Reg::R1);
                }
                None => b.store_imm(Size::DW, Reg::R10, STACK_REASON, 0),
            }
        }
        let dev_pointer = read.netns || (read.dev && record.dev_name.is_none());
        if dev_pointer {
            b.comment("device and network namespace");
            super::read_kernel(b, STACK_SCRATCH, 8, Reg::R7, layout.skb_dev as i32);
        }
        if read.dev {
            b.store_imm(Size::DW, Reg::R10, STACK_DEV, 0);
            b.store_imm(Size::DW, Reg::R10, STACK_DEV + 8, 0);
            let dev_read = b.new_label();
            match record.dev_name {
                Some(offset) => {
                    b.load(Size::W, Reg::R3, ctx, offset as i16);
                    b.alu64(AluOp::And, Reg::R3, 0xffff);
                    b.alu64(AluOp::Add, Reg::R3, ctx);
                }
                None => {
                    b.load(Size::DW, Reg::R3, Reg::R10, STACK_SCRATCH);
                    b.jump_if(JmpOp::Eq, Reg::R3, 0, dev_read);
                    b.alu64(AluOp::Add, Reg::R3, layout.dev_name as i32);
                }
            }
            b.stack_pointer(Reg::R1, STACK_DEV);
            b.mov64(Reg::R2, 16);
            b.call(Helper::ProbeReadKernelStr);
            b.bind(dev_read);
        }
        if read.netns {
            b.store_imm(Size::DW, Reg::R10, STACK_NETNS, 0);
            if let Some(netns) = &layout.netns {
                self.emit_netns(b, netns);
            }
        }
        b.comment("length, protocol, addresses");
        if read.len {
            super::read_kernel(b, STACK_LEN, 4, Reg::R7, layout.skb_len as i32);
        }
        b.load(Size::DW, Reg::R1, Reg::R10, STACK_PROTO);
        b.to_big_endian(Reg::R1, 16);
        b.store(Size::DW, Reg::R10, STACK_PROTO, Reg::R1);
        if read.ipv4 {
            emit_ipv4_fields(b);
        }
    }

    /// `netns`: the inode of the skb's device's namespace, else of its socket's.
    fn emit_netns(&self, b: &mut Builder, netns: &NetnsLayout) {
        let layout = &self.layout;
        let from_socket = b.new_label();
        let have_net = b.new_label();
        let done = b.new_label();
        b.load(Size::DW, Reg::R3, Reg::R10, STACK_SCRATCH);
        b.jump_if(JmpOp::Eq, Reg::R3, 0, from_socket);
        super::read_kernel(b, STACK_SCRATCH, 8, Reg::R3, netns.dev_net as i32);
        b.jump(have_net);
        b.bind(from_socket);
        super::read_kernel(b, STACK_SCRATCH, 8, Reg::R7, layout.skb_sk as i32);
        b.load(Size::DW, Reg::R3, Reg::R10, STACK_SCRATCH);
        b.jump_if(JmpOp::Eq, Reg::R3, 0, done);
        super::read_kernel(b, STACK_SCRATCH, 8, Reg::R3, netns.sock_net as i32);
        b.bind(have_net);
        b.load(Size::DW, Reg::R3, Reg::R10, STACK_SCRATCH);
        b.jump_if(JmpOp::Eq, Reg::R3, 0, done);
        super::read_kernel(b, STACK_NETNS, 4, Reg::R3, netns.inum as i32);
        b.bind(done);
    }
}

/// Reads the members (offset, size) of the struct at `base` onto the stack, with one `bpf_probe_read_kernel`
/// when they lie within [`SKB_SPAN`] bytes, else one call each, and returns where each one landed (zeros where
/// unreadable). Uses r1-r3.
fn emit_read_members<const N: usize>(b: &mut Builder, base: Reg, members: [(u32, Size); N]) -> [i16; N] {
    // From an 8-byte boundary, so that each member keeps its natural alignment on the stack.
    let first = members.iter().map(|&(offset, _)| offset).min().unwrap_or(0) & !7;
    let end = members.iter().map(|&(offset, size)| offset + size.bytes()).max().unwrap_or(0);
    if end - first <= SKB_SPAN {
        b.stack_pointer(Reg::R1, STACK_SKB);
        b.mov64(Reg::R2, (end - first) as i32);
        b.mov64(Reg::R3, base);
        b.alu64(AluOp::Add, Reg::R3, first as i32);
        b.call(Helper::ProbeReadKernel);
        return members.map(|(offset, _)| STACK_SKB + (offset - first) as i16);
    }
    let mut slot = STACK_SKB;
    members.map(|(offset, size)| {
        super::read_kernel(b, slot, size.bytes() as i32, base, offset as i32);
        slot += 8;
        slot - 8
    })
}

/// Addresses, ports and the ICMP echo's identifier and sequence from the headers [`Skb::emit_headers`] read (zeros when it
/// read none).
fn emit_ipv4_fields(b: &mut Builder) {
    for slot in [STACK_ADDRS, STACK_SPORT, STACK_DPORT, STACK_ICMP_SEQ, STACK_ICMP_ID] {
        b.store_imm(Size::DW, Reg::R10, slot, 0);
    }
    let done = b.new_label();
    b.load(Size::DW, Reg::R9, Reg::R10, STACK_IPV4);
    b.jump_if(JmpOp::Eq, Reg::R9, 0, done);
    b.load(Size::W, Reg::R2, Reg::R10, STACK_IP + 12);
    b.store(Size::W, Reg::R10, STACK_ADDRS, Reg::R2);
    b.load(Size::W, Reg::R2, Reg::R10, STACK_IP + 16);
    b.store(Size::W, Reg::R10, STACK_ADDRS + 4, Reg::R2);
    b.alu64(AluOp::And, Reg::R9, 0xff);
    let ports = b.new_label();
    let icmp = b.new_label();
    b.jump_if(JmpOp::Eq, Reg::R9, IPPROTO_TCP, ports);
    b.jump_if(JmpOp::Eq, Reg::R9, IPPROTO_UDP, ports);
    b.jump_if(JmpOp::Ne, Reg::R9, IPPROTO_ICMP, done);
    b.load(Size::B, Reg::R1, Reg::R10, STACK_L4);
    b.jump_if(JmpOp::Eq, Reg::R1, ICMP_ECHO, icmp);
    b.jump_if(JmpOp::Ne, Reg::R1, ICMP_ECHO_REPLY, done);
    b.bind(icmp);
    emit_be16_fields(b, &[(4, STACK_ICMP_ID), (6, STACK_ICMP_SEQ)]);
    b.jump(done);
    b.bind(ports);
    emit_be16_fields(b, &[(0, STACK_SPORT), (2, STACK_DPORT)]);
    b.bind(done);
}

/// Stores each big-endian u16 at `STACK_L4 + from` into the slot `to`, in host order.
fn emit_be16_fields(b: &mut Builder, fields: &[(i16, i16)]) {
    for &(from, to) in fields {
        b.load(Size::H, Reg::R1, Reg::R10, STACK_L4 + from);
        b.to_big_endian(Reg::R1, 16);
        b.store(Size::DW, Reg::R10, to, Reg::R1);
    }
}

/// The packet's identity in the new entry, from the headers [`Skb::emit_headers`] read: 0 (unknown) unless
/// IPv4, else `0x100 | protocol` in bits 48-56, the IP id in bits 32-47 and a transport word the stack does
/// not rewrite on the way (NAT included) in bits 0-31: TCP's sequence number, ICMP's bytes 4-7 (an echo's id
/// and sequence), UDP's length. Uses r1-r3.
fn emit_identity(b: &mut Builder) {
    let (none, word, done) = (b.new_label(), b.new_label(), b.new_label());
    b.comment("packet identity");
    b.store_imm(Size::DW, Reg::R10, STACK_ENTRY + ENTRY_IDENTITY, 0);
    b.load(Size::DW, Reg::R3, Reg::R10, STACK_IPV4);
    b.jump_if(JmpOp::Eq, Reg::R3, 0, done);
    b.load(Size::W, Reg::R1, Reg::R10, STACK_L4 + 4);
    b.mov64(Reg::R2, Reg::R3);
    b.alu64(AluOp::And, Reg::R2, 0xff);
    b.jump_if(JmpOp::Eq, Reg::R2, IPPROTO_TCP, word);
    b.jump_if(JmpOp::Eq, Reg::R2, IPPROTO_ICMP, word);
    b.jump_if(JmpOp::Ne, Reg::R2, IPPROTO_UDP, none);
    b.alu64(AluOp::And, Reg::R1, 0xffff);
    b.jump(word);
    b.bind(none);
    b.mov64(Reg::R1, 0);
    b.bind(word);
    b.load(Size::H, Reg::R2, Reg::R10, STACK_IP + 4);
    b.alu64(AluOp::Lsh, Reg::R2, 32);
    b.alu64(AluOp::Or, Reg::R1, Reg::R2);
    b.alu64(AluOp::Lsh, Reg::R3, 48);
    b.alu64(AluOp::Or, Reg::R1, Reg::R3);
    b.store(Size::DW, Reg::R10, STACK_ENTRY + ENTRY_IDENTITY, Reg::R1);
    b.bind(done);
}

/// The hop from the entry in `r9` (its point in `r1`) to this point at time `r8`: `prev` and `dur` on the stack
/// where the block runs, and the entry moved on to this point (with the identity, once known), or
/// deleted at an end.
fn emit_hop(b: &mut Builder, record: &Record, fires: bool, map: usize) {
    if fires {
        b.store(Size::DW, Reg::R10, STACK_PREV, Reg::R1);
        b.load(Size::DW, Reg::R1, Reg::R9, ENTRY_TIME);
        b.mov64(Reg::R2, Reg::R8);
        b.alu64(AluOp::Sub, Reg::R2, Reg::R1);
        b.store(Size::DW, Reg::R10, STACK_DUR, Reg::R2);
    }
    if HOPS[record.hop].role == Role::End {
        map_call(b, Helper::MapDeleteElem, map, None);
    } else {
        b.store(Size::DW, Reg::R9, ENTRY_TIME, Reg::R8);
        b.store_imm(Size::W, Reg::R9, ENTRY_HOP, record.hop as i32);
        let known = b.new_label();
        b.load(Size::DW, Reg::R1, Reg::R10, STACK_ENTRY + ENTRY_IDENTITY);
        b.jump_if(JmpOp::Eq, Reg::R1, 0, known);
        b.store(Size::DW, Reg::R9, ENTRY_IDENTITY, Reg::R1);
        b.bind(known);
    }
}

/// Drops a hop that is not one packet's, counted: `reused` when the entry was another packet's, `out_of_order`
/// (for points that cannot follow every point) when this point cannot follow its last one. The packet at this
/// point starts afresh (an end deletes it).
fn emit_restart(b: &mut Builder, env: &EmitEnv, record: &Record, reused: Label, out_of_order: Option<Label>) {
    let restart = b.new_label();
    b.bind(reused);
    env.skb_reused.emit_increment(b);
    if let Some(out_of_order) = out_of_order {
        b.jump(restart);
        b.bind(out_of_order);
        env.skb_out_of_order.emit_increment(b);
    }
    b.bind(restart);
    if HOPS[record.hop].role == Role::End {
        map_call(b, Helper::MapDeleteElem, env.maps[0], None);
    } else {
        b.store(Size::DW, Reg::R9, ENTRY_TIME, Reg::R8);
        b.store_imm(Size::W, Reg::R9, ENTRY_HOP, record.hop as i32);
        for field in [ENTRY_HEAD, ENTRY_IDENTITY] {
            b.load(Size::DW, Reg::R1, Reg::R10, STACK_ENTRY + field);
            b.store(Size::DW, Reg::R9, field, Reg::R1);
        }
    }
    b.jump(env.exit);
}

/// Completes the new entry on the stack with this point and its time (`r8`): the packet starts here.
fn emit_new_entry(b: &mut Builder, record: &Record) {
    b.store(Size::DW, Reg::R10, STACK_ENTRY + ENTRY_TIME, Reg::R8);
    b.store_imm(Size::DW, Reg::R10, STACK_ENTRY + ENTRY_HOP, record.hop as i32);
}

/// `r0 = helper(map, r10 + STACK_KEY[, r10 + value, BPF_ANY])`.
fn map_call(b: &mut Builder, helper: Helper, map: usize, value: Option<i16>) {
    super::map_call(b, helper, map, STACK_KEY, value);
}

/// Writes the IPv4 address in the u32 at `r10 + address` (network order) as a dotted string into `size`
/// bytes at `r10 + offset`, or the empty string for 0. Characters are prepended from the last one into the
/// 16-byte value r1 (bytes 0-7) and r2 (8-15), so no store needs a variable offset.
fn emit_ipv4_string(b: &mut Builder, address: i16, offset: i16, size: u32) {
    super::zero_stack(b, offset, size);
    let store = b.new_label();
    b.mov64(Reg::R1, 0);
    b.mov64(Reg::R2, 0);
    b.load(Size::W, Reg::R3, Reg::R10, address);
    b.jump_if(JmpOp::Eq, Reg::R3, 0, store);
    for octet in (0..4).rev() {
        let next = b.new_label();
        b.mov64(Reg::R4, Reg::R3);
        b.alu64(AluOp::Rsh, Reg::R4, 8 * octet);
        b.alu64(AluOp::And, Reg::R4, 0xff);
        for (divisor, below) in [(1, 10), (10, 100), (100, 0)] {
            b.mov64(Reg::R0, Reg::R4);
            if divisor > 1 {
                b.alu64(AluOp::Div, Reg::R0, divisor);
            }
            b.alu64(AluOp::Mod, Reg::R0, 10);
            b.alu64(AluOp::Add, Reg::R0, i32::from(b'0'));
            prepend(b);
            if below > 0 {
                b.jump_if(JmpOp::Lt, Reg::R4, below, next);
            }
        }
        b.bind(next);
        if octet > 0 {
            b.mov64(Reg::R0, i32::from(b'.'));
            prepend(b);
        }
    }
    b.bind(store);
    b.store(Size::DW, Reg::R10, offset, Reg::R1);
    b.store(Size::DW, Reg::R10, offset + 8, Reg::R2);
}

/// Prepends the character in r0 to the 16-byte string in r1 (low bytes) and r2; uses r5.
fn prepend(b: &mut Builder) {
    b.mov64(Reg::R5, Reg::R1);
    b.alu64(AluOp::Rsh, Reg::R5, 56);
    b.alu64(AluOp::Lsh, Reg::R2, 8);
    b.alu64(AluOp::Or, Reg::R2, Reg::R5);
    b.alu64(AluOp::Lsh, Reg::R1, 8);
    b.alu64(AluOp::Or, Reg::R1, Reg::R0);
}

impl Probe for Skb {
    fn describe(&self) -> String {
        let mut args = Vec::new();
        if let Some(hop) = self.hop_filter {
            args.push(format!("\"{}\"", HOPS[hop].name));
        }
        if let Some(min) = self.min_dur {
            args.push(crate::units::format_duration(min as i64));
        }
        format!("skb({})", args.join(", "))
    }

    fn attach(&self) -> Attach {
        self.points().swap_remove(0).attach
    }

    fn points(&self) -> Vec<Point> {
        self.points
            .records
            .iter()
            .map(|record| Point {
                suffix: HOPS[record.hop].suffix,
                attach: record.attach.clone(),
                fires: self.fires(record),
            })
            .collect()
    }

    fn notes(&self) -> Vec<String> {
        self.points.notes.clone()
    }

    fn fields(&self) -> &[Field] {
        &self.fields
    }

    fn stack_bytes(&self) -> u32 {
        STACK_BYTES
    }

    fn only_fields_read(&mut self, _kernel: &dyn KernelInfo, read: &[String]) -> Result<(), ProbeError> {
        let is_read = |names: &[&str]| read.iter().any(|field| names.contains(&field.as_str()));
        self.read = FieldsRead {
            hop: is_read(&["hop"]),
            dev: is_read(&["dev"]),
            netns: is_read(&["netns"]),
            len: is_read(&["len"]),
            reason: is_read(&["reason"]),
            ipv4: is_read(&["saddr", "daddr", "sport", "dport", "icmp_seq", "icmp_id"]),
        };
        Ok(())
    }

    fn maps(&self) -> Vec<MapSpec> {
        vec![MapSpec {
            name: "skbs".into(),
            kind: MapKind::Hash,
            key_size: 8,
            value_size: ENTRY_SIZE,
            max_entries: IN_FLIGHT,
            on_insert: false,
        }]
    }

    fn emit_prologue(&self, b: &mut Builder, env: &EmitEnv) {
        let record = &self.points.records[env.point];
        let fires = self.fires(record);
        b.comment(format!("{}: pair {} with the packet's last point", self.describe(), record.attach.target()));
        self.emit_pairing(b, env, record, fires);
        if fires {
            self.emit_packet_fields(b, env.ctx, record);
        }
    }

    fn emit_computed(&self, b: &mut Builder, _point: usize, field: &str, offset: i16, size: u32) {
        match field {
            "dev" => {
                for i in 0..(size / 8) as i16 {
                    let from = STACK_DEV + 8 * i;
                    if i < 2 {
                        b.load(Size::DW, Reg::R1, Reg::R10, from);
                        b.store(Size::DW, Reg::R10, offset + 8 * i, Reg::R1);
                    } else {
                        b.store_imm(Size::DW, Reg::R10, offset + 8 * i, 0);
                    }
                }
            }
            "saddr" => emit_ipv4_string(b, STACK_ADDRS, offset, size),
            "daddr" => emit_ipv4_string(b, STACK_ADDRS + 4, offset, size),
            _ => {}
        }
    }
}
