//! Which fields of a tracepoint's tracefs record a raw tracepoint (or tp_btf) program can read from the
//! tracepoint's arguments (`TP_PROTO`) instead, and where: so that a block reading `args.vec` need not run on a
//! perf-event tracepoint, which takes tens of milliseconds to detach.
//!
//! A field is mapped only where the value is provably the record's:
//! - a field whose name and width equal an integer or pointer argument's: the kernel's `__entry->x = x;`;
//! - an entry of [`KNOWN`], each checked against the `TP_fast_assign` of the kernel's
//!   `include/trace/events/*.h` on every kernel jl is tested on (5.10, 6.1, 6.12, 6.18), whose argument is
//!   checked by name and type in BTF and whose member (`prev->pid`) by name and size.
//!
//! Arguments are named by BTF: `__bpf_trace_NAME` for an event of its own class, `__bpf_trace_CLASS` ([`CLASSES`])
//! for one defined from a shared class, whose prototype must then have the same types. Any other field stays on
//! the record, and so does the whole probe when the block reads it ([`RawArgs::unmapped`] says why).

use super::btf_args::scalar_type;
use super::{read_kernel, read_kernel_exact, EmitEnv, Field, FieldSource, FieldType};
use crate::insn::{AluOp, Builder, Helper, Reg, Size};
use crate::kernel::{KernelError, KernelInfo, MemberKind, StructName, TracepointField};

/// A record field whose value the kernel takes from a member of an argument, or from an argument of another
/// name (`TP_fast_assign`'s `__entry->FIELD = PARAM` or `= PARAM->MEMBER`).
#[derive(Debug)]
struct Known {
    /// The tracepoints' category.
    category: &'static str,
    /// The tracepoints, all assigning `field` the same way.
    events: &'static [&'static str],
    /// The record field.
    field: &'static str,
    /// The argument it comes from.
    param: &'static str,
    /// The member of the struct `param` points to, when the field is that member.
    member: Option<&'static str>,
}

/// The kernel's assignments of record fields jl reads from the arguments although their names differ, one
/// place for all of them. Each was checked in the kernel's source (the header named) on 5.10, 6.1, 6.12 and
/// 6.18; a field whose assignment changed on some kernel must not be here.
const KNOWN: &[Known] = &[
    // irq.h, class softirq: `__entry->vec = vec_nr;`
    Known { category: "irq", events: &SOFTIRQ_EVENTS, field: "vec", param: "vec_nr", member: None },
    // sched.h, sched_switch: `memcpy(__entry->prev_comm, prev->comm, TASK_COMM_LEN); __entry->prev_pid =
    // prev->pid; __entry->prev_prio = prev->prio;` and the same for next (prev_state is computed: not here).
    Known { category: "sched", events: &["sched_switch"], field: "prev_comm", param: "prev", member: Some("comm") },
    Known { category: "sched", events: &["sched_switch"], field: "prev_pid", param: "prev", member: Some("pid") },
    Known { category: "sched", events: &["sched_switch"], field: "prev_prio", param: "prev", member: Some("prio") },
    Known { category: "sched", events: &["sched_switch"], field: "next_comm", param: "next", member: Some("comm") },
    Known { category: "sched", events: &["sched_switch"], field: "next_pid", param: "next", member: Some("pid") },
    Known { category: "sched", events: &["sched_switch"], field: "next_prio", param: "next", member: Some("prio") },
    // sched.h, class sched_wakeup_template (sched_waking, sched_wakeup, sched_wakeup_new): `memcpy(__entry->comm,
    // p->comm, TASK_COMM_LEN); __entry->pid = p->pid; __entry->prio = p->prio;` (target_cpu is computed: not here).
    Known { category: "sched", events: &SCHED_WAKEUP_EVENTS, field: "comm", param: "p", member: Some("comm") },
    Known { category: "sched", events: &SCHED_WAKEUP_EVENTS, field: "pid", param: "p", member: Some("pid") },
    Known { category: "sched", events: &SCHED_WAKEUP_EVENTS, field: "prio", param: "p", member: Some("prio") },
    // net.h, classes net_dev_template and net_dev_rx_verbose_template, net_dev_start_xmit, net_dev_xmit:
    // `__entry->skbaddr = skb;`
    Known { category: "net", events: &NET_DEV_TEMPLATE, field: "skbaddr", param: "skb", member: None },
    Known { category: "net", events: &NET_DEV_RX_VERBOSE, field: "skbaddr", param: "skb", member: None },
    Known {
        category: "net",
        events: &["net_dev_start_xmit", "net_dev_xmit"],
        field: "skbaddr",
        param: "skb",
        member: None,
    },
    // skb.h, kfree_skb, consume_skb, skb_copy_datagram_iovec: `__entry->skbaddr = skb;`
    Known {
        category: "skb",
        events: &["kfree_skb", "consume_skb", "skb_copy_datagram_iovec"],
        field: "skbaddr",
        param: "skb",
        member: None,
    },
    // timer.h, timer_expire_entry: `__entry->function = timer->function;`
    Known {
        category: "timer",
        events: &["timer_expire_entry"],
        field: "function",
        param: "timer",
        member: Some("function"),
    },
];

const SOFTIRQ_EVENTS: [&str; 3] = ["softirq_entry", "softirq_exit", "softirq_raise"];
const SCHED_WAKEUP_EVENTS: [&str; 3] = ["sched_waking", "sched_wakeup", "sched_wakeup_new"];
const NET_DEV_TEMPLATE: [&str; 3] = ["net_dev_queue", "netif_receive_skb", "netif_rx"];
const NET_DEV_RX_VERBOSE: [&str; 6] = [
    "napi_gro_frags_entry",
    "napi_gro_receive_entry",
    "netif_receive_skb_entry",
    "netif_receive_skb_list_entry",
    "netif_rx_entry",
    "netif_rx_ni_entry",
];

/// Event classes (`DECLARE_EVENT_CLASS`) whose events' arguments BTF names only in `__bpf_trace_CLASS`:
/// `(category, events, class)`.
const CLASSES: &[(&str, &[&str], &str)] = &[
    ("irq", &SOFTIRQ_EVENTS, "softirq"),
    ("sched", &SCHED_WAKEUP_EVENTS, "sched_wakeup_template"),
    ("net", &NET_DEV_TEMPLATE, "net_dev_template"),
    ("net", &NET_DEV_RX_VERBOSE, "net_dev_rx_verbose_template"),
    ("timer", &["timer_init", "timer_expire_exit", "timer_cancel"], "timer_class"),
];

/// A member of a struct an argument points to, read by the prologue.
#[derive(Clone, Debug, PartialEq)]
struct MemberRead {
    /// The record field (`args.NAME`).
    field: String,
    /// The argument's index.
    arg: u32,
    /// The member's offset in the struct.
    offset: u32,
    /// Bytes read (the record field's size).
    size: u32,
    /// Whether the value is sign-extended (signed integers).
    signed: bool,
    /// The stack slot holding the value (integers) or the argument (strings, read where they are used).
    slot: i16,
    /// Whether the field is a string read where it is used ([`FieldSource::Computed`]).
    string: bool,
}

/// A tracepoint's record fields as its raw arguments hold them.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct RawArgs {
    /// The mapped fields, typed as the record types them, read from the arguments.
    fields: Vec<Field>,
    /// Members read through argument pointers.
    members: Vec<MemberRead>,
    /// The fields not mapped, with why.
    unmapped: Vec<(String, String)>,
    /// The mapped fields that are pointer arguments themselves.
    pointers: Vec<String>,
    /// The members the block reads (see [`RawArgs::only_fields_read`]).
    read: Vec<String>,
}

impl RawArgs {
    /// Maps the record fields `record` (common fields left out) of `category:name` onto its raw arguments.
    pub(super) fn resolve(
        kernel: &dyn KernelInfo,
        category: &str,
        name: &str,
        record: &[TracepointField],
    ) -> Result<RawArgs, KernelError> {
        let mut mapped = RawArgs {
            fields: Vec::new(),
            members: Vec::new(),
            unmapped: Vec::new(),
            pointers: Vec::new(),
            read: Vec::new(),
        };
        let Some(params) = named_params(kernel, category, name)? else {
            let why = format!("the kernel's BTF has no btf_trace_{name}");
            mapped.unmapped = record.iter().map(|field| (field.name.clone(), why.clone())).collect();
            return Ok(mapped);
        };
        for field in record {
            match mapped.map(kernel, category, name, field, &params)? {
                Ok(()) => {}
                Err(why) => mapped.unmapped.push((field.name.clone(), why)),
            }
        }
        Ok(mapped)
    }

    /// Maps one field, or says why it cannot.
    fn map(
        &mut self,
        kernel: &dyn KernelInfo,
        category: &str,
        name: &str,
        field: &TracepointField,
        params: &[(String, String)],
    ) -> Result<Result<(), String>, KernelError> {
        let record = super::tracepoint::arg_field(field, kernel);
        if field.data_loc {
            return Ok(Err("the kernel builds it as a string when it records the event".into()));
        }
        let known = KNOWN
            .iter()
            .find(|known| known.category == category && known.events.contains(&name) && known.field == field.name);
        let param_name = known.map_or(field.name.as_str(), |known| known.param);
        let Some(index) = params.iter().position(|(param, _)| param == param_name) else {
            let unnamed = params.iter().enumerate().all(|(index, (param, _))| *param == format!("arg{index}"));
            let why = match known {
                _ if unnamed && !params.is_empty() => format!(
                    "the kernel's BTF does not name the tracepoint's arguments (no __bpf_trace_{name} or class \
                     function)"
                ),
                Some(_) => format!("the tracepoint has no argument `{param_name}` on this kernel"),
                None => "no argument of the tracepoint has its name, and jl knows no other source for it".into(),
            };
            return Ok(Err(why));
        };
        let c_type = &params[index].1;
        let arg = index as u32;
        let Some(member) = known.and_then(|known| known.member) else {
            let width = scalar_type(c_type).map(|ty| match ty {
                FieldType::Int { size, .. } => size,
                _ => 8,
            });
            if field.array_len.is_some() || width != Some(field.size) {
                return Ok(Err(format!("it is {} bytes, the argument `{param_name}` ({c_type}) is not", field.size)));
            }
            if c_type.contains('*') {
                self.pointers.push(field.name.clone());
            }
            self.fields.push(Field { source: FieldSource::Context { offset: 8 * arg }, ..record });
            return Ok(Ok(()));
        };
        let Some(target) = StructName::pointed_to(c_type) else {
            return Ok(Err(format!("the argument `{param_name}` ({c_type}) is not a struct pointer")));
        };
        let Some(found) = kernel.struct_member(target.as_str(), member)? else {
            return Ok(Err(format!("the kernel's BTF has no {target}.{member}")));
        };
        let string = matches!(record.ty, FieldType::Str { .. });
        let same_kind = match &found.kind {
            MemberKind::Array { text, .. } => string && *text,
            MemberKind::Int { .. } | MemberKind::Pointer { .. } | MemberKind::Other => {
                matches!(
                    record.ty,
                    FieldType::Int { .. } | FieldType::Enum { .. } | FieldType::Pointer { .. } | FieldType::Address
                )
            }
            MemberKind::Record => false,
        };
        if !same_kind || found.size != field.size || found.bit_width.is_some() {
            return Ok(Err(format!(
                "it is {} bytes of {}, {target}.{member} is {} bytes of {}",
                field.size, field.c_type, found.size, found.type_name
            )));
        }
        let slot = -8 * (self.members.len() as i16 + 1);
        let signed = matches!(record.ty, FieldType::Int { signed: true, .. } | FieldType::Enum { signed: true, .. });
        let source = if string { FieldSource::Computed } else { FieldSource::Stack { offset: slot } };
        self.members.push(MemberRead {
            field: field.name.clone(),
            arg,
            offset: found.offset,
            size: field.size,
            signed,
            slot,
            string,
        });
        self.fields.push(Field { source, ..record });
        Ok(Ok(()))
    }

    /// The mapped fields, read from the arguments.
    pub(super) fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The fields of `read` (record field names) that are not mapped, each with why.
    pub(super) fn unmapped<'a>(&'a self, read: &'a [String]) -> impl Iterator<Item = &'a (String, String)> {
        self.unmapped.iter().filter(move |(name, _)| read.contains(name))
    }

    /// Whether one of `read` is a pointer argument itself, which a tp_btf program sees as a typed kernel
    /// pointer the verifier allows no arithmetic on.
    pub(super) fn reads_pointer_arg(&self, read: &[String]) -> bool {
        self.pointers.iter().any(|name| read.contains(name))
    }

    /// Told which record fields the block reads, so that the prologue reads only their members.
    pub(super) fn only_fields_read(&mut self, read: &[String]) {
        self.read = read.to_vec();
    }

    /// Bytes of stack the prologue writes.
    pub(super) fn stack_bytes(&self) -> u32 {
        8 * self.members.len() as u32
    }

    /// Reads the members the block reads into their stack slots (integers), or their arguments (strings).
    pub(super) fn emit_prologue(&self, b: &mut Builder, env: &EmitEnv) {
        for member in self.members.iter().filter(|member| self.read.contains(&member.field)) {
            b.comment(format!("args.{} from argument {}", member.field, member.arg));
            b.load(Size::DW, Reg::R3, env.ctx, 8 * member.arg as i16);
            if member.string {
                b.store(Size::DW, Reg::R10, member.slot, Reg::R3);
                continue;
            }
            let (size, offset) = (member.size as i32, member.offset as i32);
            let Some(narrow) = Size::from_bytes(member.size).filter(|_| member.signed && member.size < 8) else {
                read_kernel(b, member.slot, size, Reg::R3, offset);
                continue;
            };
            // Sign-extended into the whole slot: only the bytes read need to be initialised.
            read_kernel_exact(b, member.slot, size, Reg::R3, offset);
            b.load(narrow, Reg::R1, Reg::R10, member.slot);
            b.alu64(AluOp::Lsh, Reg::R1, 64 - 8 * size);
            b.alu64(AluOp::Arsh, Reg::R1, 64 - 8 * size);
            b.store(Size::DW, Reg::R10, member.slot, Reg::R1);
        }
    }

    /// Writes string member `field` into `size` bytes at `r10 + offset`, as the record's `memcpy` holds it:
    /// the member's bytes (as many as fit), zeros after them.
    pub(super) fn emit_computed(&self, b: &mut Builder, field: &str, offset: i16, size: u32) {
        let Some(member) = self.members.iter().find(|member| member.string && member.field == field) else {
            return;
        };
        let len = member.size.min(size);
        for i in 0..size.div_ceil(8) as i16 {
            b.store_imm(Size::DW, Reg::R10, offset + 8 * i, 0);
        }
        b.load(Size::DW, Reg::R3, Reg::R10, member.slot);
        b.alu64(AluOp::Add, Reg::R3, member.offset as i32);
        b.stack_pointer(Reg::R1, offset);
        b.mov64(Reg::R2, len as i32);
        b.call(Helper::ProbeReadKernel);
    }
}

/// The arguments of raw tracepoint `name`, named by `__bpf_trace_CLASS` when its own function does not name
/// them and its class does (with the same types); `None` when BTF has no `btf_trace_NAME`.
fn named_params(
    kernel: &dyn KernelInfo,
    category: &str,
    name: &str,
) -> Result<Option<Vec<(String, String)>>, KernelError> {
    let Some(params) = kernel.raw_tracepoint_params(name)? else {
        return Ok(None);
    };
    let unnamed = params.iter().enumerate().all(|(index, (param, _))| *param == format!("arg{index}"));
    let class = CLASSES.iter().find(|(cat, events, _)| *cat == category && events.contains(&name));
    let Some((_, _, class)) = class.filter(|_| unnamed) else {
        return Ok(Some(params));
    };
    let Some(named) = kernel.function_params(&format!("__bpf_trace_{class}"))? else {
        return Ok(Some(params));
    };
    let same_types = named.len() == params.len() + 1
        && named.iter().skip(1).zip(&params).all(|((_, named_type), (_, c_type))| named_type == c_type);
    Ok(Some(match same_types {
        true => named.into_iter().skip(1).collect(),
        false => params,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{FixtureKernel, KernelSnapshot};

    fn raw_args(kernel: &FixtureKernel, category: &str, name: &str) -> RawArgs {
        let format = kernel.tracepoint(category, name).unwrap();
        let record: Vec<_> = format.fields.iter().filter(|field| !field.common).cloned().collect();
        RawArgs::resolve(kernel, category, name, &record).unwrap()
    }

    fn source(args: &RawArgs, name: &str) -> Option<FieldSource> {
        args.fields().iter().find(|field| field.name == name).map(|field| field.source)
    }

    fn why<'a>(args: &'a RawArgs, name: &str) -> &'a str {
        let found = args.unmapped.iter().find(|(field, _)| field == name).map(|(_, why)| why.as_str());
        found.unwrap_or_else(|| panic!("args.{name} is mapped"))
    }

    #[test]
    fn softirq_vec_is_the_classes_vec_nr() {
        let args = raw_args(&FixtureKernel::bundled(), "irq", "softirq_entry");
        assert_eq!(args.fields()[0].ty, FieldType::Int { size: 4, signed: false });
        assert_eq!(source(&args, "vec"), Some(FieldSource::Context { offset: 0 }));
        assert_eq!(args.stack_bytes(), 0);
    }

    #[test]
    fn sched_switch_reads_task_members_and_leaves_prev_state_on_the_record() {
        let args = raw_args(&FixtureKernel::bundled(), "sched", "sched_switch");
        let stack = |offset| Some(FieldSource::Stack { offset });
        assert_eq!(source(&args, "prev_pid"), stack(-16));
        assert_eq!(source(&args, "next_prio"), stack(-48));
        assert_eq!(source(&args, "next_comm"), Some(FieldSource::Computed));
        let pid = args.fields().iter().find(|field| field.name == "next_pid").unwrap();
        assert_eq!(pid.ty, FieldType::Int { size: 4, signed: true }, "the record's type");
        assert_eq!(why(&args, "prev_state"), "it is 8 bytes, the argument `prev_state` (unsigned int) is not");
        let next_pid = args.members.iter().find(|member| member.field == "next_pid").unwrap();
        // `next` is the third argument; task_struct.pid is at 1264 in the fixture.
        assert_eq!((next_pid.arg, next_pid.offset, next_pid.size, next_pid.signed), (2, 1264, 4, true));
        assert!(!args.reads_pointer_arg(&["next_pid".into()]));
    }

    #[test]
    fn skb_events_read_skbaddr_from_skb_and_same_named_arguments() {
        let kernel = FixtureKernel::bundled();
        let receive = raw_args(&kernel, "net", "netif_receive_skb");
        assert_eq!(source(&receive, "skbaddr"), Some(FieldSource::Context { offset: 0 }), "named by its class");
        assert_eq!(why(&receive, "name"), "the kernel builds it as a string when it records the event");
        assert!(why(&receive, "len").starts_with("no argument of the tracepoint has its name"));
        assert!(receive.reads_pointer_arg(&["skbaddr".into()]));
        let free = raw_args(&kernel, "skb", "kfree_skb");
        assert_eq!(source(&free, "location"), Some(FieldSource::Context { offset: 8 }));
        assert_eq!(source(&free, "reason"), Some(FieldSource::Context { offset: 16 }));
        assert_eq!(source(&free, "protocol"), None);
    }

    #[test]
    fn timer_function_is_a_member_of_the_timer() {
        let args = raw_args(&FixtureKernel::bundled(), "timer", "timer_expire_entry");
        assert_eq!(source(&args, "timer"), Some(FieldSource::Context { offset: 0 }));
        assert_eq!(source(&args, "function"), Some(FieldSource::Stack { offset: -8 }));
        assert_eq!(source(&args, "baseclk"), Some(FieldSource::Context { offset: 8 }));
        assert!(why(&args, "now").starts_with("no argument"));
    }

    /// The bundled kernel with `sched_switch`'s prototype replaced by `params`.
    fn with_sched_switch(params: &[(&str, &str)]) -> FixtureKernel {
        let mut snapshot: KernelSnapshot =
            serde_json::from_str(include_str!("../../fixtures/kernel-6.18.json")).unwrap();
        let params = params.iter().map(|(name, ty)| (name.to_string(), ty.to_string())).collect();
        snapshot.raw_tracepoints.insert("sched_switch".into(), params);
        FixtureKernel::from_snapshot(snapshot)
    }

    #[test]
    fn arguments_are_found_by_name_and_type_not_position() {
        // Linux 5.10: no prev_state argument.
        let old = with_sched_switch(&[
            ("preempt", "bool"),
            ("prev", "struct task_struct *"),
            ("next", "struct task_struct *"),
        ]);
        let args = raw_args(&old, "sched", "sched_switch");
        let next_pid = args.members.iter().find(|member| member.field == "next_pid").unwrap();
        assert_eq!(next_pid.arg, 2);
        assert!(why(&args, "prev_state").starts_with("no argument"));
        // Another order, and a `next` that is not a task pointer.
        let moved = with_sched_switch(&[("next", "int"), ("prev", "struct task_struct *")]);
        let args = raw_args(&moved, "sched", "sched_switch");
        assert_eq!(args.members.iter().find(|member| member.field == "prev_pid").unwrap().arg, 1);
        assert_eq!(why(&args, "next_pid"), "the argument `next` (int) is not a struct pointer");
    }

    #[test]
    fn arguments_btf_does_not_name_map_nothing() {
        // Linux 5.10's BTF: `btf_trace_sched_switch` only, no `__bpf_trace_sched_switch` to name its arguments.
        let unnamed =
            with_sched_switch(&[("arg0", "bool"), ("arg1", "struct task_struct *"), ("arg2", "struct task_struct *")]);
        let args = raw_args(&unnamed, "sched", "sched_switch");
        assert!(args.fields().is_empty());
        assert_eq!(
            why(&args, "next_pid"),
            "the kernel's BTF does not name the tracepoint's arguments (no __bpf_trace_sched_switch or class function)"
        );
    }

    #[test]
    fn a_tracepoint_without_a_prototype_maps_nothing() {
        let mut snapshot: KernelSnapshot =
            serde_json::from_str(include_str!("../../fixtures/kernel-6.18.json")).unwrap();
        snapshot.raw_tracepoints.remove("softirq_entry");
        let args = raw_args(&FixtureKernel::from_snapshot(snapshot), "irq", "softirq_entry");
        assert!(args.fields().is_empty());
        assert_eq!(why(&args, "vec"), "the kernel's BTF has no btf_trace_softirq_entry");
    }
}
