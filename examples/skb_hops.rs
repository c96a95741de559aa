//! Embedding jitterlang: follow packets hop by hop with the typed `skb()` probe and print every hop slower than
//! a threshold, with its network namespace and device, then the latency histogram of each hop.
//!
//! Run as root: `cargo run --example skb_hops -- 1000 10` (hops slower than 1000 us, for 10 seconds)

use jitterlang::runtime::{run, RunOptions};
use jitterlib::kernel::LiveKernel;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

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

    let kernel = LiveKernel::new();
    let compiled = match jitterlang::compile(&source, &kernel) {
        Ok(compiled) => compiled,
        Err(diagnostics) => {
            eprint!("{}", diagnostics.render("<example>", &source));
            return ExitCode::from(2);
        }
    };
    let options = RunOptions { duration: Some(Duration::from_secs_f64(seconds)), ..RunOptions::default() };
    let stop = AtomicBool::new(false);
    match run(&compiled, &kernel, &options, &mut std::io::stdout(), &stop) {
        Ok(report) => {
            eprintln!("{} events; lost: {:?}", report.events, report.lost);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}
