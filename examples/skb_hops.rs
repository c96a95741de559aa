//! Embedding jitterlang: follow packets hop by hop with the typed `skb()` probe and print every hop slower than
//! a threshold, with its network namespace and device, then the latency histogram of each hop.
//!
//! Run as root: `cargo run --example skb_hops -- 1000 10` (hops slower than 1000 us, for 10 seconds)

mod embed;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let threshold_us: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10.0);
    // The threshold is the probe's filter: faster hops are dropped in BPF before any packet field is read.
    let source = format!(
        r#"skb({threshold_us}us) {{
             printf("%s -> %s %d us netns %d dev %s cpu %d %s\n", prev, hop, dur / 1000, netns, dev, cpu, comm);
             @[prev, hop] = hist(dur);
           }}"#
    );

    embed::compile_and_run(&source, seconds)
}
