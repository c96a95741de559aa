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

/// Struct members the typed probes read.
const STRUCTS: &[(&str, &[&str])] = &[
    ("net", &["ns"]),
    ("net_device", &["ifindex", "name", "nd_net"]),
    ("ns_common", &["inum"]),
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
    ("sock_common", &["skc_daddr", "skc_dport", "skc_family", "skc_net", "skc_num", "skc_rcv_saddr"]),
    ("task_struct", &["comm", "pid", "tgid"]),
    ("timer_list", &["expires", "function"]),
];

/// Functions whose BTF prototypes type kprobe/fentry arguments in tests (estimation_timer is absent on 6.18).
const FUNCTIONS: &[&str] =
    &["estimation_timer", "icmp_rcv", "ip_rcv", "netif_receive_skb", "tcp_v4_rcv", "vfs_read", "vfs_write"];

/// Raw tracepoints whose BTF prototypes type `rawtracepoint:` arguments in tests.
const RAW_TRACEPOINTS: &[&str] = &["sched_switch", "sched_wakeup", "softirq_entry", "sys_enter", "sys_exit"];

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
    };
    let snapshot = LiveKernel::new().snapshot(&selection)?;
    println!("{}", serde_json::to_string_pretty(&snapshot)?);
    Ok(())
}
