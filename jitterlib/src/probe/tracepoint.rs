//! `tracepoint:CATEGORY:NAME`: a static kernel tracepoint; `args.FIELD` are the fields of its format file.
//!
//! The program runs on a raw tracepoint where the kernel has them ([`TracepointHook`]), which detaches in a
//! fraction of a millisecond instead of tens, when every `args` field the block reads is found among the
//! tracepoint's arguments ([`RawArgs`]): `tracepoint:irq:softirq_entry { @[args.vec] = count(); }` and
//! `tracepoint:sched:* { @[probe] = count(); }` stop at once. A block reading any other field runs on a
//! perf-event tracepoint, whose context is the record (`jl -v` says which field and why). Syscall events are
//! tracefs views without a raw tracepoint of their name: on x86-64 they run behind one dispatcher program per
//! direction on `raw_syscalls`, which tail-calls them by syscall number, `args` included ([`SyscallView`]).
//! Dynamic events (kprobe, uprobe, synthetic events listed in
//! tracefs's `dynamic_events`, whatever their group) are refused: the kernel attaches a tracepoint program to none
//! of them.

use super::syscall::SyscallView;
use super::tracepoint_args::RawArgs;
use super::tracepoint_hook::TracepointHook;
use super::{
    path_parts, Companion, DispatchSlot, EmitEnv, Field, FieldSource, FieldType, Probe, ProbeError, ProbeErrorKind,
    ProbeKind, ProbeSpec, SyscallEvent,
};
use crate::insn::Builder;
use crate::kernel::{KernelError, KernelInfo, StructName, TracepointField, TracepointMechanism};
use crate::maps::MapSpec;
use crate::session::Attach;

/// Registry entry.
pub(super) static KIND: ProbeKind = ProbeKind {
    name: "tracepoint",
    aliases: &["t"],
    syntax: "tracepoint:CATEGORY:NAME",
    about: "a static kernel tracepoint; its record fields are args.NAME (types from the tracefs format file)",
    fields: &[("args.FIELD", "each field of the tracepoint's format (`jl -l tracepoint:CAT:NAME -v` lists them)")],
    targets: None,
    resolve,
};

const SYNTAX: &str = "tracepoint:CATEGORY:NAME";

/// tracefs event groups whose events are not kernel tracepoints: syscall events (views of
/// `raw_syscalls:sys_enter`/`sys_exit`) and the default groups of dynamic events.
/// Why a block reading a pointer argument does not run on tp_btf.
const POINTER_ARG: &str =
    "the block reads a pointer argument, which tp_btf types as a kernel pointer that allows no arithmetic";

const NOT_TRACEPOINTS: [&str; 8] =
    ["syscalls", "kprobes", "uprobes", "synthetic", "eprobes", "fprobes", "tracepoints", "ftrace"];

#[derive(Debug)]
struct Tracepoint {
    category: String,
    name: String,
    /// The record's fields, what `args` are on a perf-event tracepoint.
    record: Vec<Field>,
    reach: Reach,
    /// The record fields the block reads (see [`Probe::only_fields_read`]); `None` until told: any may be.
    args_read: Option<Vec<String>>,
}

/// How the program reaches the event besides its perf-event tracepoint.
#[derive(Debug)]
enum Reach {
    /// Only through its perf-event tracepoint (events that are not tracepoints), with why for syscall events.
    PerfEvent(Option<String>),
    /// Through `hook` when every field the block reads is among the arguments (`args`, mapped from the
    /// kernel's BTF once the block is known to read some: `None` until then); through `pointer_hook` (a raw
    /// tracepoint rather than tp_btf) when one of them is a pointer argument.
    Hook { hook: Box<TracepointHook>, pointer_hook: Box<TracepointHook>, args: Option<Box<RawArgs>> },
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
        _ => {
            let hook = TracepointHook::resolve(kernel, category, name, None)?;
            let pointer_hook = match hook.mechanism {
                TracepointMechanism::TpBtf => TracepointHook::resolve(kernel, category, name, Some(POINTER_ARG))?,
                _ => hook.clone(),
            };
            Reach::Hook { hook: Box::new(hook), pointer_hook: Box::new(pointer_hook), args: None }
        }
    };
    let record = format.fields.iter().filter(|field| !field.common).map(|field| arg_field(field, kernel)).collect();
    Ok(Box::new(Tracepoint { category: category.clone(), name: name.clone(), record, reach, args_read: None }))
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

/// The field `args.NAME` of a tracefs record field, read from the record. A field of a kernel enum type prints by
/// name, as the format file types it (bpftrace 0.27 types it so too).
pub(super) fn arg_field(field: &TracepointField, kernel: &dyn KernelInfo) -> Field {
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
    } else if field.size == 8 && super::btf_args::is_pointer(&field.c_type) {
        FieldType::Address
    } else if let Some(found) = super::btf_args::kernel_enum(kernel, &field.c_type) {
        super::btf_args::enum_field(&found, field.size, field.signed)
    } else {
        FieldType::Int { size: field.size.min(8), signed: field.signed }
    };
    Field { name: field.name.clone(), ty, source: FieldSource::Context { offset: field.offset } }
}

impl Tracepoint {
    /// The hook the program runs on, and whether it reads the raw arguments (else the record), when it runs
    /// on one; `None` on the event's own perf-event tracepoint.
    fn hook(&self) -> Option<(&TracepointHook, Option<&RawArgs>)> {
        let Reach::Hook { hook, pointer_hook, args } = &self.reach else {
            return None;
        };
        let read = self.args_read.as_deref()?;
        if read.is_empty() {
            return Some((hook, None));
        }
        let args = args.as_deref()?;
        let hook = if args.reads_pointer_arg(read) { pointer_hook } else { hook };
        (hook.reads_args() && args.unmapped(read).next().is_none()).then_some((hook, Some(args)))
    }
}

impl Probe for Tracepoint {
    fn describe(&self) -> String {
        format!("tracepoint:{}:{}", self.category, self.name)
    }

    fn attach(&self) -> Attach {
        match (&self.reach, self.hook()) {
            (Reach::Syscall(view), _) => view.attach(),
            (_, Some((hook, _))) => hook.attach.clone(),
            _ => Attach::Tracepoint { category: self.category.clone(), name: self.name.clone() },
        }
    }

    fn args(&self) -> &[Field] {
        match (&self.reach, self.hook()) {
            (Reach::Syscall(view), _) => view.args(),
            (_, Some((_, Some(args)))) => args.fields(),
            _ => &self.record,
        }
    }

    fn source_now(&self, field: &Field) -> FieldSource {
        let now = self.args().iter().find(|now| now.name == field.name && now.ty == field.ty);
        now.map_or(field.source, |now| now.source)
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
        match (&self.reach, self.hook()) {
            (Reach::Syscall(view), _) => view.stack_bytes(),
            (_, Some((_, Some(args)))) => args.stack_bytes(),
            _ => 0,
        }
    }

    fn only_fields_read(&mut self, kernel: &dyn KernelInfo, read: &[String]) -> Result<(), ProbeError> {
        let fields: Vec<String> =
            read.iter().filter_map(|field| field.strip_prefix("args.")).map(str::to_string).collect();
        match &mut self.reach {
            Reach::Syscall(view) => view.only_fields_read(read),
            Reach::Hook { args: Some(args), .. } => args.only_fields_read(&fields),
            Reach::Hook { args: slot @ None, .. } if !fields.is_empty() => {
                let format = kernel.tracepoint(&self.category, &self.name)?;
                let record: Vec<_> = format.fields.iter().filter(|field| !field.common).cloned().collect();
                let mut args = RawArgs::resolve(kernel, &self.category, &self.name, &record)?;
                args.only_fields_read(&fields);
                *slot = Some(Box::new(args));
            }
            Reach::Hook { .. } | Reach::PerfEvent(_) => {}
        }
        self.args_read = Some(fields);
        Ok(())
    }

    fn emit_prologue(&self, b: &mut Builder, env: &EmitEnv) {
        match (&self.reach, self.hook()) {
            (Reach::Syscall(view), _) => view.emit_prologue(b, env),
            (_, Some((_, Some(args)))) => args.emit_prologue(b, env),
            _ => {}
        }
    }

    fn emit_computed(&self, b: &mut Builder, _point: usize, field: &str, offset: i16, size: u32) {
        if let Some((_, Some(args))) = self.hook() {
            args.emit_computed(b, field, offset, size);
        }
    }

    fn emit_epilogue(&self, b: &mut Builder, env: &EmitEnv) {
        if let Reach::Syscall(view) = &self.reach {
            view.emit_epilogue(b, env);
        }
    }

    fn notes(&self) -> Vec<String> {
        let event = format!("{}:{}", self.category, self.name);
        match (&self.reach, self.hook()) {
            (Reach::Syscall(view), _) => vec![view.note()],
            (Reach::PerfEvent(Some(why)), _) => vec![format!("{event} uses a perf-event tracepoint; {why}")],
            (_, Some((hook, _))) => hook.note().into_iter().collect(),
            (Reach::Hook { hook, args, .. }, None) => {
                let read = self.args_read.as_deref().unwrap_or_default();
                let unmapped: Vec<String> = args
                    .iter()
                    .flat_map(|args| args.unmapped(read))
                    .map(|(field, why)| format!("args.{field} is not among its arguments: {why}"))
                    .collect();
                match unmapped.is_empty() {
                    true => hook.note().into_iter().collect(),
                    false => vec![format!("{event} uses a perf-event tracepoint; {}", unmapped.join("; "))],
                }
            }
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
        assert_eq!(ty("skaddr"), Some(FieldType::Address), "`const void * skaddr`");
    }

    #[test]
    fn a_block_reading_only_mapped_args_runs_on_a_raw_tracepoint() {
        let spec = ProbeSpec::Path(vec!["tracepoint".into(), "sched".into(), "sched_switch".into()]);
        let kernel = FixtureKernel::bundled();
        let mut probe = resolve(&spec, &kernel).expect("the fixture has sched:sched_switch");
        let perf = Attach::Tracepoint { category: "sched".into(), name: "sched_switch".into() };
        let raw = Attach::RawTracepoint { name: "sched_switch".into() };
        assert_eq!(probe.attach(), perf, "until told, args may be read");
        probe.only_fields_read(&kernel, &[]).unwrap();
        assert_eq!(probe.attach(), raw);
        let checked = probe.args().iter().find(|field| field.name == "next_pid").cloned().unwrap();
        probe.only_fields_read(&kernel, &["args.next_pid".into(), "args.next_comm".into()]).unwrap();
        assert_eq!((probe.attach(), probe.stack_bytes(), probe.notes()), (raw, 48, vec![]));
        assert_eq!(probe.source_now(&checked), FieldSource::Stack { offset: -40 });
        probe.only_fields_read(&kernel, &["args.next_pid".into(), "args.prev_state".into()]).unwrap();
        assert_eq!((probe.attach(), probe.stack_bytes()), (perf, 0));
        assert_eq!(probe.source_now(&checked), FieldSource::Context { offset: 56 }, "the record's offset");
        assert_eq!(
            probe.notes(),
            ["sched:sched_switch uses a perf-event tracepoint; args.prev_state is not among its arguments: it is 8 \
              bytes, the argument `prev_state` (unsigned int) is not"]
        );
    }

    /// A block that reads no `args` runs on a raw tracepoint without the kernel's BTF being opened: mapping
    /// the record onto the arguments waits for a block that reads some (then it needs BTF).
    #[test]
    fn a_block_reading_no_args_leaves_the_kernel_btf_closed() {
        if !crate::testing::can_trace("a_block_reading_no_args_leaves_the_kernel_btf_closed") {
            return;
        }
        let spec = ProbeSpec::Path(vec!["tracepoint".into(), "sched".into(), "sched_switch".into()]);
        let kernel = crate::kernel::LiveKernel::new();
        let mut probe = resolve(&spec, &kernel).expect("every kernel has sched:sched_switch");
        probe.only_fields_read(&kernel, &["comm".into(), "pid".into()]).unwrap();
        assert_eq!(probe.attach(), Attach::RawTracepoint { name: "sched_switch".into() });
        assert!(!kernel.btf_opened(), "BTF opened for a block that reads no args");
        probe.only_fields_read(&kernel, &["args.next_pid".into()]).unwrap();
        assert_eq!(probe.attach(), Attach::RawTracepoint { name: "sched_switch".into() });
        assert!(probe.stack_bytes() > 0, "args.next_pid is read from the arguments");
        assert!(kernel.btf_opened());
    }

    #[test]
    fn tp_btf_reads_no_pointer_argument() {
        use crate::kernel::{TracepointMechanism, TracepointProbes};
        let probes = TracepointProbes::all().using(TracepointMechanism::TpBtf, "asked");
        let kernel = FixtureKernel::bundled().with_tracepoint_probes(probes);
        let spec = ProbeSpec::Path(vec!["tracepoint".into(), "skb".into(), "kfree_skb".into()]);
        let mut probe = resolve(&spec, &kernel).unwrap();
        probe.only_fields_read(&kernel, &["args.reason".into()]).unwrap();
        assert_eq!(probe.attach(), Attach::TpBtf { name: "kfree_skb".into() });
        probe.only_fields_read(&kernel, &["args.reason".into(), "args.skbaddr".into()]).unwrap();
        assert_eq!(probe.attach(), Attach::RawTracepoint { name: "kfree_skb".into() });
        assert!(
            probe.notes()[0].contains("tp_btf not used: the block reads a pointer argument"),
            "{:?}",
            probe.notes()
        );
    }
}
