//! `tracepoint:CATEGORY:NAME`: a static kernel tracepoint; `args.FIELD` are the fields of its format file.
//!
//! A block that reads `args` runs on a perf-event tracepoint, whose context is that record. A block that does not
//! runs on a raw tracepoint where the kernel has them ([`TracepointHook`]), which detaches in a fraction of a
//! millisecond instead of tens: `tracepoint:sched:* { @[probe] = count(); }` stops at once. Syscall events are
//! tracefs views without a raw tracepoint of their name: on x86-64 they run behind one dispatcher program per
//! direction on `raw_syscalls`, which tail-calls them by syscall number, `args` included ([`SyscallView`]). Dynamic events (kprobe, uprobe, synthetic events listed in
//! tracefs's `dynamic_events`, whatever their group) are refused: the kernel attaches a tracepoint program to none
//! of them.

use super::syscall::SyscallView;
use super::tracepoint_hook::TracepointHook;
use super::{
    path_parts, Companion, DispatchSlot, EmitEnv, Field, FieldSource, FieldType, Probe, ProbeError, ProbeErrorKind,
    ProbeKind, ProbeSpec, SyscallEvent,
};
use crate::insn::Builder;
use crate::kernel::{KernelError, KernelInfo, StructName, TracepointField};
use crate::maps::MapSpec;
use crate::session::Attach;

/// Registry entry.
pub(super) static KIND: ProbeKind = ProbeKind {
    name: "tracepoint",
    aliases: &["t"],
    syntax: "tracepoint:CATEGORY:NAME",
    about: "a static kernel tracepoint; its record fields are args.NAME (types from the tracefs format file)",
    fields: &[("args.FIELD", "each field of the tracepoint's format (`jl -l tracepoint:CAT:NAME -v` lists them)")],
    resolve,
};

const SYNTAX: &str = "tracepoint:CATEGORY:NAME";

/// tracefs event groups whose events are not kernel tracepoints: syscall events (views of
/// `raw_syscalls:sys_enter`/`sys_exit`) and the default groups of dynamic events.
const NOT_TRACEPOINTS: [&str; 8] =
    ["syscalls", "kprobes", "uprobes", "synthetic", "eprobes", "fprobes", "tracepoints", "ftrace"];

#[derive(Debug)]
struct Tracepoint {
    category: String,
    name: String,
    /// The record's fields, what `args` are on a perf-event tracepoint.
    record: Vec<Field>,
    reach: Reach,
    /// Whether the block reads `args` (see [`Probe::only_fields_read`]).
    args_read: bool,
}

/// How the program reaches the event besides its perf-event tracepoint.
#[derive(Debug)]
enum Reach {
    /// Only through its perf-event tracepoint (events that are not tracepoints), with why for syscall events.
    PerfEvent(Option<String>),
    /// Through this hook when the block reads no `args`.
    Argless(TracepointHook),
    /// Through `raw_syscalls`, whatever the block reads.
    Syscall(SyscallView),
}

fn resolve(spec: &ProbeSpec, kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    let parts = path_parts(spec, "tracepoint", 3, SYNTAX)?;
    let (category, name) = (&parts[1], &parts[2]);
    let format = kernel.tracepoint(category, name).map_err(|error| match error {
        KernelError::TracepointNotFound { .. } => {
            ProbeError::new(ProbeErrorKind::MissingTarget, format!("this kernel has no tracepoint `{category}:{name}`"))
                .with_hint(missing_hint(category, name, kernel))
                .at(2)
        }
        other => other.into(),
    })?;
    if format.dynamic {
        return Err(ProbeError::new(
            ProbeErrorKind::MissingTarget,
            format!(
                "`{category}:{name}` is a dynamic event (listed in tracefs's dynamic_events), not a kernel tracepoint"
            ),
        )
        .with_hint(
            "BPF programs attach to it only as what it wraps: `uprobe:BINARY:FUNCTION` for a user-space \
             function, `kprobe:FUNCTION` for a kernel one",
        )
        .at(2));
    }
    let reach = match category.as_str() {
        "syscalls" => match SyscallView::resolve(kernel, name, &format)? {
            Ok(view) => Reach::Syscall(view),
            Err(why) => Reach::PerfEvent(Some(why)),
        },
        other if NOT_TRACEPOINTS.contains(&other) => Reach::PerfEvent(None),
        _ => Reach::Argless(TracepointHook::resolve(kernel, category, name, None)?),
    };
    let record = format.fields.iter().filter(|field| !field.common).map(arg_field).collect();
    Ok(Box::new(Tracepoint { category: category.clone(), name: name.clone(), record, reach, args_read: true }))
}

fn missing_hint(category: &str, name: &str, kernel: &dyn KernelInfo) -> String {
    let listing = format!("`jl -l 'tracepoint:{category}:*'` lists the tracepoints of `{category}`");
    let known = kernel.tracepoints().unwrap_or_default();
    let names: Vec<&str> = known.iter().filter(|(cat, _)| cat == category).map(|(_, n)| n.as_str()).collect();
    match super::nearest(name, &names) {
        Some(near) => format!("did you mean `tracepoint:{category}:{near}`? {listing}"),
        None => listing,
    }
}

/// The field `args.NAME` of a tracefs record field, read from the record.
pub(super) fn arg_field(field: &TracepointField) -> Field {
    let ty = if field.data_loc {
        FieldType::DataLocStr
    } else if field.array_len.is_some() && field.c_type.contains("char") {
        FieldType::Str { size: field.size }
    } else if field.array_len.is_some() && field.size > 8 {
        FieldType::Bytes { size: field.size }
    } else if field.array_len.is_some() {
        FieldType::ShortBytes { size: field.size }
    } else if let Some(target) = StructName::pointed_to(&field.c_type).filter(|_| field.size == 8) {
        FieldType::Pointer { target }
    } else {
        FieldType::Int { size: field.size.min(8), signed: field.signed }
    };
    Field { name: field.name.clone(), ty, source: FieldSource::Context { offset: field.offset } }
}

impl Probe for Tracepoint {
    fn describe(&self) -> String {
        format!("tracepoint:{}:{}", self.category, self.name)
    }

    fn attach(&self) -> Attach {
        match (&self.reach, self.args_read) {
            (Reach::Syscall(view), _) => view.attach(),
            (Reach::Argless(hook), false) => hook.attach.clone(),
            _ => Attach::Tracepoint { category: self.category.clone(), name: self.name.clone() },
        }
    }

    fn args(&self) -> &[Field] {
        match &self.reach {
            Reach::Syscall(view) => view.args(),
            _ => &self.record,
        }
    }

    fn syscall_event(&self) -> Option<SyscallEvent> {
        match &self.reach {
            Reach::Syscall(view) => Some(view.event()),
            _ => None,
        }
    }

    fn dispatch(&mut self, slot: DispatchSlot) {
        if let Reach::Syscall(view) = &mut self.reach {
            view.dispatch(slot);
        }
    }

    fn maps(&self) -> Vec<MapSpec> {
        match &self.reach {
            Reach::Syscall(view) => view.maps(),
            _ => Vec::new(),
        }
    }

    fn companions(&self, maps: &[usize]) -> Result<Vec<Companion>, ProbeError> {
        match &self.reach {
            Reach::Syscall(view) => view.companions(maps),
            _ => Ok(Vec::new()),
        }
    }

    fn leave_raw_syscalls(&mut self, why: &str) {
        if let Reach::Syscall(_) = self.reach {
            self.reach = Reach::PerfEvent(Some(why.to_string()));
        }
    }

    fn stack_bytes(&self) -> u32 {
        match &self.reach {
            Reach::Syscall(view) => view.stack_bytes(),
            _ => 0,
        }
    }

    fn only_fields_read(&mut self, read: &[String]) {
        self.args_read = read.iter().any(|field| field.starts_with("args."));
        if let Reach::Syscall(view) = &mut self.reach {
            view.only_fields_read(read);
        }
    }

    fn emit_prologue(&self, b: &mut Builder, env: &EmitEnv) {
        if let Reach::Syscall(view) = &self.reach {
            view.emit_prologue(b, env);
        }
    }

    fn emit_epilogue(&self, b: &mut Builder, env: &EmitEnv) {
        if let Reach::Syscall(view) = &self.reach {
            view.emit_epilogue(b, env);
        }
    }

    fn notes(&self) -> Vec<String> {
        match (&self.reach, self.args_read) {
            (Reach::Syscall(view), _) => vec![view.note()],
            (Reach::PerfEvent(Some(why)), _) => {
                vec![format!("{}:{} uses a perf-event tracepoint; {why}", self.category, self.name)]
            }
            (Reach::Argless(hook), false) => hook.note().into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::FixtureKernel;

    #[test]
    fn byte_arrays_are_bytes_short_or_long() {
        let spec = ProbeSpec::Path(vec!["tracepoint".into(), "sock".into(), "inet_sock_set_state".into()]);
        let probe = resolve(&spec, &FixtureKernel::bundled()).expect("the fixture has sock:inet_sock_set_state");
        let ty = |name: &str| probe.args().iter().find(|field| field.name == name).map(|field| field.ty);
        assert_eq!(ty("saddr"), Some(FieldType::ShortBytes { size: 4 }));
        assert_eq!(ty("saddr_v6"), Some(FieldType::Bytes { size: 16 }));
        assert_eq!(ty("family"), Some(FieldType::Int { size: 2, signed: false }));
    }

    #[test]
    fn a_block_without_args_runs_on_a_raw_tracepoint() {
        let spec = ProbeSpec::Path(vec!["tracepoint".into(), "sched".into(), "sched_switch".into()]);
        let mut probe = resolve(&spec, &FixtureKernel::bundled()).expect("the fixture has sched:sched_switch");
        let perf = Attach::Tracepoint { category: "sched".into(), name: "sched_switch".into() };
        assert_eq!(probe.attach(), perf, "until told, args may be read");
        probe.only_fields_read(&[]);
        assert_eq!(probe.attach(), Attach::RawTracepoint { name: "sched_switch".into() });
        probe.only_fields_read(&["args.next_pid".into()]);
        assert_eq!(probe.attach(), perf);
    }
}
