//! `tracepoint:CATEGORY:NAME`: a static kernel tracepoint; `args.FIELD` are the fields of its format file.
//!
//! A block that reads `args` runs on a perf-event tracepoint, whose context is that record. A block that does not
//! runs on a raw tracepoint where the kernel has them ([`TracepointHook`]), which detaches in a fraction of a
//! millisecond instead of tens: `tracepoint:sched:* { @[probe] = count(); }` stops at once. Syscall events are
//! tracefs views without a raw tracepoint of their name, so they always use perf events. Dynamic events (kprobe,
//! uprobe, synthetic events listed in tracefs's `dynamic_events`, whatever their group) are refused: the kernel
//! attaches a tracepoint program to none of them.

use super::tracepoint_hook::TracepointHook;
use super::{path_parts, Field, FieldSource, FieldType, Probe, ProbeError, ProbeErrorKind, ProbeKind, ProbeSpec};
use crate::kernel::{KernelError, KernelInfo, StructName, TracepointField};
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
    args: Vec<Field>,
    /// How to reach the tracepoint when the block reads no `args` (`None` for events that are not tracepoints).
    argless: Option<TracepointHook>,
    /// Whether the block reads `args` (see [`Probe::only_fields_read`]).
    args_read: bool,
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
    let args = format.fields.iter().filter(|field| !field.common).map(arg_field).collect();
    let argless = match NOT_TRACEPOINTS.contains(&category.as_str()) {
        true => None,
        false => Some(TracepointHook::resolve(kernel, category, name, None)?),
    };
    Ok(Box::new(Tracepoint { category: category.clone(), name: name.clone(), args, argless, args_read: true }))
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

fn arg_field(field: &TracepointField) -> Field {
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
        match (&self.argless, self.args_read) {
            (Some(hook), false) => hook.attach.clone(),
            _ => Attach::Tracepoint { category: self.category.clone(), name: self.name.clone() },
        }
    }

    fn args(&self) -> &[Field] {
        &self.args
    }

    fn only_fields_read(&mut self, read: &[String]) {
        self.args_read = read.iter().any(|field| field.starts_with("args."));
    }

    fn notes(&self) -> Vec<String> {
        match (&self.argless, self.args_read) {
            (Some(hook), false) => hook.note().into_iter().collect(),
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
