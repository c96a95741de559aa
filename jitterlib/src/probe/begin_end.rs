//! `BEGIN` and `END` (also `begin` and `end`, as bpftrace 0.27 writes them): blocks run once before tracing
//! starts and once after it stops.
//!
//! They are raw-tracepoint programs that are never attached: the session runs them on demand with
//! `BPF_PROG_TEST_RUN` (Linux >= 5.10), so `printf` and map updates behave exactly as in other probes.

use super::{path_parts, Probe, ProbeError, ProbeKind, ProbeSpec, Trigger};
use crate::kernel::KernelInfo;
use crate::session::Attach;

/// Registry entry for `BEGIN`.
pub(super) static BEGIN: ProbeKind = ProbeKind {
    name: "BEGIN",
    aliases: &["begin"],
    syntax: "BEGIN",
    about: "runs once before any other probe is attached",
    fields: &[],
    targets: None,
    resolve: |spec, kernel| resolve(spec, kernel, Trigger::Begin),
};

/// Registry entry for `END`.
pub(super) static END: ProbeKind = ProbeKind {
    name: "END",
    aliases: &["end"],
    syntax: "END",
    about: "runs once after tracing stops (Ctrl-C, exit(), --duration), before maps are printed",
    fields: &[],
    targets: None,
    resolve: |spec, kernel| resolve(spec, kernel, Trigger::End),
};

#[derive(Debug)]
struct Lifecycle(Trigger);

fn resolve(spec: &ProbeSpec, _kernel: &dyn KernelInfo, trigger: Trigger) -> Result<Box<dyn Probe>, ProbeError> {
    let name = match trigger {
        Trigger::Begin => BEGIN.name,
        Trigger::End => END.name,
    };
    path_parts(spec, name, 1, name)?;
    Ok(Box::new(Lifecycle(trigger)))
}

impl Probe for Lifecycle {
    fn describe(&self) -> String {
        match self.0 {
            Trigger::Begin => "BEGIN".to_string(),
            Trigger::End => "END".to_string(),
        }
    }

    fn attach(&self) -> Attach {
        Attach::Manual
    }

    fn trigger(&self) -> Option<Trigger> {
        Some(self.0)
    }
}
