//! `BEGIN` and `END` (also `begin` and `end`, as bpftrace 0.27 writes them): blocks run once before tracing
//! starts and once after it stops.
//!
//! They are raw-tracepoint programs that are never attached: the session runs them on demand with
//! `BPF_PROG_TEST_RUN` (Linux >= 5.10), so `printf` and map updates behave exactly as in other probes.

use super::{path_parts, Probe, ProbeError, ProbeKind, ProbeSpec, Trigger};
use crate::session::Attach;

/// Registry entry for `BEGIN`.
pub(super) static BEGIN: ProbeKind = ProbeKind {
    name: "BEGIN",
    aliases: &["begin"],
    syntax: "BEGIN",
    about: "runs once before any other probe is attached",
    fields: &[],
    targets: None,
    resolve: |spec, _kernel| resolve(spec, &BEGIN, Trigger::Begin),
};

/// Registry entry for `END`.
pub(super) static END: ProbeKind = ProbeKind {
    name: "END",
    aliases: &["end"],
    syntax: "END",
    about: "runs once after tracing stops (Ctrl-C, exit(), --duration), before maps are printed",
    fields: &[],
    targets: None,
    resolve: |spec, _kernel| resolve(spec, &END, Trigger::End),
};

/// A `BEGIN` or `END` block: its kind (for its name) and when it runs.
#[derive(Debug)]
struct Lifecycle {
    kind: &'static ProbeKind,
    trigger: Trigger,
}

fn resolve(spec: &ProbeSpec, kind: &'static ProbeKind, trigger: Trigger) -> Result<Box<dyn Probe>, ProbeError> {
    path_parts(spec, kind.name, 1, kind.syntax)?;
    Ok(Box::new(Lifecycle { kind, trigger }))
}

impl Probe for Lifecycle {
    fn describe(&self) -> String {
        self.kind.name.to_string()
    }

    fn attach(&self) -> Attach {
        Attach::Manual
    }

    fn trigger(&self) -> Option<Trigger> {
        Some(self.trigger)
    }
}
