//! `BEGIN` and `END` (also `begin` and `end`, as bpftrace 0.27 writes them): blocks run once before tracing
//! starts and once after it stops; `self:signal:SIGUSR1` (bpftrace's), a block run each time jl receives that
//! signal while tracing.
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
    resolve: |spec, _| resolve(spec, &BEGIN, Trigger::Begin),
};

/// Registry entry for `END`.
pub(super) static END: ProbeKind = ProbeKind {
    name: "END",
    aliases: &["end"],
    syntax: "END",
    about: "runs once after tracing stops (Ctrl-C, exit(), --duration), before maps are printed",
    fields: &[],
    targets: None,
    resolve: |spec, _| resolve(spec, &END, Trigger::End),
};

/// Registry entry for `self`.
pub(super) static SELF: ProbeKind = ProbeKind {
    name: "self",
    aliases: &[],
    syntax: "self:signal:SIGUSR1",
    about: "runs each time jl receives SIGUSR1 while tracing (`kill -USR1 <pid of jl>`)",
    fields: &[],
    targets: None,
    resolve: resolve_self,
};

/// The signals a `self:signal` probe can name, as bpftrace: only SIGUSR1 (jl stops on SIGINT, SIGTERM, SIGHUP).
const SIGNALS: [(&str, i32); 1] = [("SIGUSR1", libc::SIGUSR1)];

/// A block run on demand: its kind (for its name) and when it runs.
#[derive(Debug)]
struct Lifecycle {
    kind: &'static ProbeKind,
    trigger: Trigger,
}

fn resolve_self(spec: &ProbeSpec, _kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    let parts = path_parts(spec, SELF.name, 3, SELF.syntax)?;
    if parts[1] != "signal" {
        return Err(ProbeError::bad_spec(format!("`{}` is not an event of `self` probes", parts[1]))
            .with_hint("the one event is `signal`: `self:signal:SIGUSR1`")
            .at(1));
    }
    match SIGNALS.iter().find(|(name, _)| *name == parts[2]) {
        Some((_, number)) => Ok(Box::new(Lifecycle { kind: &SELF, trigger: Trigger::Signal(*number) })),
        None => Err(ProbeError::bad_spec(format!("`self:signal` probes take SIGUSR1, not `{}`", parts[2]))
            .with_hint("SIGINT, SIGTERM and SIGHUP stop jl (END runs then); SIGUSR1 is the signal left to scripts")
            .at(2)),
    }
}

fn resolve(spec: &ProbeSpec, kind: &'static ProbeKind, trigger: Trigger) -> Result<Box<dyn Probe>, ProbeError> {
    path_parts(spec, kind.name, 1, kind.syntax)?;
    Ok(Box::new(Lifecycle { kind, trigger }))
}

impl Probe for Lifecycle {
    fn describe(&self) -> String {
        match self.trigger {
            Trigger::Signal(number) => {
                let name = SIGNALS.iter().find(|(_, known)| *known == number).map_or("?", |(name, _)| name);
                format!("self:signal:{name}")
            }
            _ => self.kind.name.to_string(),
        }
    }

    fn attach(&self) -> Attach {
        Attach::Manual
    }

    fn trigger(&self) -> Option<Trigger> {
        Some(self.trigger)
    }
}
