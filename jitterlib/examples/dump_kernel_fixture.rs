//! Writes the kernel metadata fixture used by compile-only tests, from the running kernel, to stdout:
//!
//! ```text
//! cargo run -p jitterlib --example dump_kernel_fixture > jitterlib/fixtures/kernel-6.18.json
//! ```
//!
//! Needs root (tracefs, kallsyms addresses). Only real data of this host goes in: symbols or struct members
//! the kernel does not have are left out, not invented.

use jitterlib::kernel::{LiveKernel, SnapshotSelection};

/// Tracepoint categories included whole.
const CATEGORIES: &[&str] = &["irq", "napi", "net", "raw_syscalls", "sched", "skb", "timer"];

/// Single tracepoints included on top of the categories.
const SINGLE_TRACEPOINTS: &[(&str, &str)] = &[
    ("syscalls", "sys_enter_getpid"),
    ("syscalls", "sys_exit_getpid"),
    ("syscalls", "sys_enter_openat"),
    ("syscalls", "sys_exit_openat"),
    ("syscalls", "sys_enter_write"),
    ("sock", "inet_sock_set_state"),
    ("irq_vectors", "local_timer_entry"),
    ("irq_vectors", "local_timer_exit"),
    ("irq_vectors", "irq_work_entry"),
    ("irq_vectors", "irq_work_exit"),
    ("irq_vectors", "reschedule_entry"),
    ("irq_vectors", "reschedule_exit"),
    ("irq_vectors", "call_function_entry"),
    ("irq_vectors", "call_function_exit"),
    ("irq_vectors", "call_function_single_entry"),
    ("irq_vectors", "call_function_single_exit"),
];

/// Functions the investigations and tests talk about (timer callbacks, softirq and receive path).
const SYMBOLS: &[&str] = &[
    "__do_softirq",
    "__napi_poll",
    "__netif_receive_skb_core",
    "call_timer_fn",
    "delayed_work_timer_fn",
    "do_softirq",
    "estimation_timer",
    "handle_softirqs",
    "hrtimer_wakeup",
    "ip_rcv",
    "ip_vs_estimation_kthread",
    "net_rx_action",
    "netif_receive_skb",
    "process_timeout",
    "run_timer_softirq",
    "tcp_delack_timer",
    "tcp_keepalive_timer",
    "tcp_v4_rcv",
    "tick_sched_timer",
];

/// Struct members the typed probes and the language tests read; dotted paths go through embedded structs.
const STRUCTS: &[(&str, &[&str])] = &[
    ("icmphdr", &["code", "type", "un", "un.echo", "un.echo.id", "un.echo.sequence"]),
    ("in6_addr", &["in6_u", "in6_u.u6_addr32", "in6_u.u6_addr8"]),
    ("iphdr", &["daddr", "ihl", "protocol", "saddr", "tot_len", "ttl", "version"]),
    ("net", &["ns", "ns.inum"]),
    ("net_device", &["ifindex", "mtu", "name", "nd_net", "nd_net.net"]),
    ("ns_common", &["inum"]),
    ("nsproxy", &["net_ns"]),
    (
        "sk_buff",
        &[
            "data",
            "dev",
            "head",
            "len",
            "network_header",
            "pkt_type",
            "protocol",
            "sk",
            "skb_iif",
            "transport_header",
            "tstamp",
        ],
    ),
    (
        "sock",
        &[
            "__sk_common",
            "__sk_common.skc_daddr",
            "__sk_common.skc_dport",
            "__sk_common.skc_family",
            "__sk_common.skc_rcv_saddr",
            "__sk_common.skc_v6_daddr",
            "__sk_common.skc_v6_daddr.in6_u",
            "__sk_common.skc_v6_daddr.in6_u.u6_addr32",
            "__sk_common.skc_v6_daddr.in6_u.u6_addr8",
        ],
    ),
    ("sock_common", &["skc_daddr", "skc_dport", "skc_family", "skc_net", "skc_num", "skc_rcv_saddr"]),
    ("hrtimer", &["_softexpires", "function", "is_soft"]),
    ("task_struct", &["comm", "nsproxy", "pid", "prio", "real_parent", "tgid", "thread_info.status"]),
    ("timer_list", &["expires", "function"]),
];

/// Functions whose BTF prototypes type kprobe/fentry arguments in tests and place skb()'s function points, and
/// the `__bpf_trace_CLASS` functions that name the arguments of tracepoints defined from a class
/// (estimation_timer is absent on 6.18).
const FUNCTIONS: &[&str] = &[
    "__bpf_trace_net_dev_rx_verbose_template",
    "__bpf_trace_net_dev_template",
    "__bpf_trace_softirq",
    "__bpf_trace_timer_class",
    "br_forward",
    "br_handle_frame_finish",
    "estimation_timer",
    "icmp_rcv",
    "ip_forward",
    "ip_local_deliver",
    "ip_output",
    "ip_rcv",
    "netif_receive_skb",
    "tcp_v4_rcv",
    "udp_rcv",
    "veth_xmit",
    "vfs_read",
    "vfs_write",
];

/// Raw tracepoints whose BTF prototypes type `rawtracepoint:` arguments in tests and put typed probes on tp_btf.
const RAW_TRACEPOINTS: &[&str] = &[
    "consume_skb",
    "hrtimer_expire_entry",
    "hrtimer_expire_exit",
    "kfree_skb",
    "napi_gro_receive_entry",
    "net_dev_queue",
    "net_dev_start_xmit",
    "net_dev_xmit",
    "netif_receive_skb",
    "netif_rx",
    "sched_switch",
    "sched_wakeup",
    "skb_copy_datagram_iovec",
    "softirq_entry",
    "softirq_exit",
    "softirq_raise",
    "sys_enter",
    "sys_exit",
    "timer_expire_entry",
    "timer_expire_exit",
];

/// Enums of the fixture's tracepoint fields, and the softirq vectors' anonymous one (named by an enumerator).
const ENUMS: &[&str] = &["hrtimer_mode", "numa_vmaskip_reason", "skb_drop_reason", "NET_RX_SOFTIRQ"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let owned = |items: &[&str]| items.iter().map(|item| item.to_string()).collect::<Vec<_>>();
    let selection = SnapshotSelection {
        tracepoint_categories: owned(CATEGORIES),
        tracepoints: SINGLE_TRACEPOINTS
            .iter()
            .map(|(category, name)| (category.to_string(), name.to_string()))
            .collect(),
        symbols: owned(SYMBOLS),
        structs: STRUCTS.iter().map(|(name, members)| (name.to_string(), owned(members))).collect(),
        functions: owned(FUNCTIONS),
        raw_tracepoints: owned(RAW_TRACEPOINTS),
        enums: owned(ENUMS),
    };
    let snapshot = LiveKernel::new().snapshot(&selection)?;
    println!("{}", serde_json::to_string_pretty(&snapshot)?);
    Ok(())
}
