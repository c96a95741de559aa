//! The bundled scripts (`scripts/*.jl`), built into the binary: `jl --list-scripts` lists them and `jl NAME`
//! runs one by name when no file of that name exists.

/// A script shipped with jitterlang.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BundledScript {
    /// File name without `.jl`.
    pub name: &'static str,
    /// The script text.
    pub source: &'static str,
}

impl BundledScript {
    /// The first line of its header comment, without the name prefix: what it answers.
    pub fn summary(&self) -> &'static str {
        let first = self.source.lines().next().unwrap_or("").trim_start_matches("//").trim();
        first.split_once(": ").map_or(first, |(_, rest)| rest)
    }
}

macro_rules! bundled {
    ($($name:literal),* $(,)?) => {
        /// Every bundled script, in investigation order.
        pub const BUNDLED: &[BundledScript] = &[
            // jitterlang/scripts links to the repository's scripts/, so that `cargo package` ships them.
            $(BundledScript { name: $name, source: include_str!(concat!("../scripts/", $name, ".jl")) },)*
        ];
    };
}

bundled![
    "icmp_softirq",
    "softirq_durations",
    "softirq_delay",
    "timer_callbacks",
    "estimation_timer",
    "ipvs_walks",
    "irqoff",
    "skb_hops",
    "pingtrace",
    "drops",
    "cpu_flamegraph",
    "triage",
];

/// The bundled script called `name` (with or without `.jl`).
pub fn find(name: &str) -> Option<&'static BundledScript> {
    let name = name.strip_suffix(".jl").unwrap_or(name);
    BUNDLED.iter().find(|script| script.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_has_a_summary_and_is_found_by_name() {
        for script in BUNDLED {
            assert!(!script.summary().is_empty(), "{} has no header comment", script.name);
            assert_eq!(find(&format!("{}.jl", script.name)), Some(script));
        }
    }
}
