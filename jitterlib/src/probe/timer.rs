//! `timer(FUNCTION)` and `hrtimer(FUNCTION)`: each run of a timer-wheel or high-resolution timer callback,
//! with its duration and how late it started.
//!
//! Two programs: on `timer:{hr,}timer_expire_entry` the companion keeps (timer, start time, callback, lateness)
//! in a per-CPU slot when the callback is FUNCTION (addresses from kallsyms, compared in BPF); on
//! `timer:{hr,}timer_expire_exit` the main program pairs the exit with that slot (same CPU, same timer),
//! computes `dur` and runs the block.
//!
//! Slots: timer-wheel callbacks run one at a time per CPU in TIMER softirq. Hrtimer callbacks run either in hard
//! interrupt context (interrupts off: they never nest) or, for `HRTIMER_MODE_*_SOFT` timers, in HRTIMER softirq
//! with interrupts on, where a hard one can interrupt them. So each CPU has two slots: the entry picks the soft
//! slot (0) or the hard one (1) from the timer's `hrtimer.is_soft` (BTF offset; timer-wheel timers always use
//! slot 0), and the exit, which cannot read the timer (a woken sleeper may already have reused it), pairs with
//! the hard slot if it holds this timer, else the soft one. A hard callback nested in a soft one thus leaves the
//! soft one's slot alone. An hrtimer interrupting a timer-wheel callback uses the other probe's map.
//!
//! `late`: the entry tracepoint's `now` minus the timer's expiry, read from the timer (BTF offsets):
//! `timer_list.expires` in jiffies, converted with the kernel's HZ; `hrtimer._softexpires` in nanoseconds of the
//! timer's own clock, the clock `now` is in. Negative values (never expected) read as 0.
//!
//! Both tracepoints are reached through tp_btf, a raw tracepoint or a perf-event tracepoint ([`TracepointHook`]).
//! With the arguments (`TP_PROTO(struct timer_list *timer, ...)`, `TP_PROTO(struct hrtimer *hrtimer, ktime_t
//! *now)`), the callback is read from the timer (BTF offset) and `now` is `bpf_jiffies64()` (Linux 5.5) or
//! `*now`; tp_btf cannot read a `ktime_t *` argument (it types only pointers to structs), so hrtimer entries use
//! a raw tracepoint.

use super::tracepoint_hook::TracepointHook;
use super::{
    Companion, EmitEnv, Field, FieldSource, FieldType, Probe, ProbeArg, ProbeError, ProbeErrorKind, ProbeKind,
    ProbeSpec,
};
use crate::insn::{AluOp, Builder, Helper, JmpOp, Label, Reg, Size};
use crate::kernel::KernelInfo;
use crate::maps::{MapKind, MapSpec};
use crate::session::Attach;

/// Registry entry for timer-wheel callbacks.
pub(super) static KIND: ProbeKind = ProbeKind {
    name: "timer",
    aliases: &[],
    syntax: "timer(\"FUNCTION\") or timer()",
    about: "each run of a timer callback (FUNCTION, or every callback), when it returns",
    fields: &[
        ("dur", "time the callback ran, entry to exit on the same CPU (ns)"),
        ("func", "the callback (kernel symbol)"),
        ("late", "how long after its expiry the callback started (ns, jiffy resolution)"),
    ],
    targets: None,
    resolve: |spec, kernel| resolve_boxed(spec, kernel, &TIMER_WHEEL),
};

/// Registry entry for high-resolution timer callbacks.
pub(super) static HRTIMER_KIND: ProbeKind = ProbeKind {
    name: "hrtimer",
    aliases: &[],
    syntax: "hrtimer(\"FUNCTION\") or hrtimer()",
    about: "each run of an hrtimer callback (FUNCTION, or every callback), when it returns",
    fields: &[
        ("dur", "time the callback ran, entry to exit on the same CPU (ns)"),
        ("func", "the callback (kernel symbol)"),
        ("late", "how long after its (soft) expiry the callback started (ns)"),
    ],
    targets: None,
    resolve: |spec, kernel| resolve_boxed(spec, kernel, &HRTIMER),
};

/// Registry entry for the IPVS estimator walk.
pub(super) static IPVS_EST_KIND: ProbeKind = ProbeKind {
    name: "ipvs_est",
    aliases: &[],
    syntax: "ipvs_est()",
    about: "each IPVS estimator walk (estimation_timer before Linux 6.2, the estimator kthreads' walks since), when it ends",
    fields: &[
        ("dur", "time the walk took (ns)"),
        ("func", "the walk's function (estimation_timer; Linux < 6.2 only)"),
        ("late", "how long after its expiry the walk started (ns, jiffy resolution; Linux < 6.2 only)"),
        ("netns", "inode number of the network namespace walked (needs the ip_vs module's BTF; Linux < 6.2 only)"),
    ],
    targets: None,
    resolve: resolve_ipvs_estimator,
};

/// What differs between the timer families: probe name, tracepoints, the timer's field name, where the timer
/// keeps its expiry and in which unit, the timer's flag telling soft from hard-interrupt callbacks, and a callback the probe always traces (the IPVS estimator).
#[derive(Debug)]
struct Family {
    probe: &'static str,
    entry: &'static str,
    exit: &'static str,
    object: &'static str,
    expiry: (&'static str, &'static str),
    clock: Clock,
    soft_flag: Option<(&'static str, &'static str)>,
    fixed_callback: Option<&'static str>,
}

/// The unit of the entry tracepoint's `now` and of the timer's expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clock {
    Jiffies,
    Nanoseconds,
}

static TIMER_WHEEL: Family = Family {
    probe: "timer",
    entry: "timer_expire_entry",
    exit: "timer_expire_exit",
    object: "timer",
    expiry: ("timer_list", "expires"),
    clock: Clock::Jiffies,
    soft_flag: None,
    fixed_callback: None,
};
static HRTIMER: Family = Family {
    probe: "hrtimer",
    entry: "hrtimer_expire_entry",
    exit: "hrtimer_expire_exit",
    object: "hrtimer",
    expiry: ("hrtimer", "_softexpires"),
    clock: Clock::Nanoseconds,
    soft_flag: Some(("hrtimer", "is_soft")),
    fixed_callback: None,
};
static IPVS_ESTIMATOR: Family = Family { probe: "ipvs_est", fixed_callback: Some("estimation_timer"), ..TIMER_WHEEL };

/// `ipvs_est()`: on kernels < 6.2 the estimator is the `estimation_timer` timer-wheel callback of the ip_vs
/// module, timed here; 6.2 and later estimate in kthreads (`ip_vs_estimation_kthread`), timed by kprobes in
/// [`super::ipvs_kthread`].
fn resolve_ipvs_estimator(spec: &ProbeSpec, kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    if !matches!(spec, ProbeSpec::Typed { args, .. } if args.is_empty()) {
        return Err(ProbeError::bad_spec("`ipvs_est` takes no arguments: ipvs_est()").at(0));
    }
    let callback = IPVS_ESTIMATOR.fixed_callback.unwrap_or("estimation_timer");
    if kernel.symbol_addresses(callback)?.is_empty() && kernel.version().at_least(6, 2) {
        return super::ipvs_kthread::resolve(kernel);
    }
    let spec = ProbeSpec::Typed { name: "ipvs_est".into(), args: vec![ProbeArg::Str(callback.into())] };
    let mut probe = resolve(&spec, kernel, &IPVS_ESTIMATOR)?;
    probe.netns = ipvs_netns_path(kernel)?;
    if probe.netns.is_some() {
        probe.fields.push(Field {
            name: "netns".into(),
            ty: FieldType::Int { size: 8, signed: false },
            source: FieldSource::Stack { offset: STACK_NETNS },
        });
    }
    Ok(Box::new(probe))
}

/// Where the walked namespace's inode number is, from the timer: the timer is `netns_ipvs.est_timer`, so
/// `container_of(timer)->net->ns.inum`. Needs the ip_vs module's BTF; `None` without it (no `netns` field).
fn ipvs_netns_path(kernel: &dyn KernelInfo) -> Result<Option<NetnsPath>, ProbeError> {
    let member = |found: Option<crate::kernel::Member>| found.map(|member| member.offset);
    let timer = member(kernel.module_struct_member("ip_vs", "netns_ipvs", "est_timer")?);
    let net = member(kernel.module_struct_member("ip_vs", "netns_ipvs", "net")?);
    let inum = member(kernel.struct_member("net", "ns.inum")?);
    Ok(match (timer, net, inum) {
        (Some(timer), Some(net), Some(inum)) => {
            Some(NetnsPath { net_from_timer: i64::from(net) - i64::from(timer), inum })
        }
        _ => None,
    })
}

/// Offsets that lead from an IPVS estimator timer to its network namespace's inode number.
#[derive(Clone, Copy, Debug)]
struct NetnsPath {
    /// `offsetof(netns_ipvs, net) - offsetof(netns_ipvs, est_timer)`: where `net` is, from the timer.
    net_from_timer: i64,
    /// `offsetof(struct net, ns.inum)`.
    inum: u32,
}

/// Why hrtimer entries do not use tp_btf.
const HRTIMER_TP_BTF_REFUSAL: &str = "tp_btf cannot read its `ktime_t *now` argument (only pointers to structs)";

/// Slot layout in the per-CPU state map.
const SLOT_TIMER: i16 = 0;
const SLOT_START: i16 = 8;
const SLOT_FUNCTION: i16 = 16;
const SLOT_LATE: i16 = 24;
const SLOT_SIZE: u32 = 32;
/// Slots per CPU: soft context (0) and hard interrupt context (1).
const SOFT_SLOT: i32 = 0;
const HARD_SLOT: i32 = 1;

/// Stack layout of the main program's prologue (top of frame).
const STACK_DUR: i16 = -8;
const STACK_FUNC: i16 = -16;
const STACK_LATE: i16 = -24;
const STACK_KEY: i16 = -28;
const STACK_NETNS: i16 = -40;

/// Where the entry program finds the callback and the tracepoint's `now`.
#[derive(Debug)]
enum EntryReads {
    /// The tracefs record's `function` and `now` fields.
    Record { function: u32, now: u32 },
    /// From the arguments: the timer's callback at this BTF offset, read with a plain load where tp_btf types
    /// the timer pointer (`typed`); `now` is `bpf_jiffies64()` for the timer wheel, `*now` (argument 1) for
    /// hrtimers.
    Args { function_member: u32, typed: bool },
}

#[derive(Debug)]
struct Timer {
    family: &'static Family,
    function: Option<String>,
    addresses: Vec<u64>,
    entry: TracepointHook,
    exit: TracepointHook,
    entry_timer: u32,
    entry_reads: EntryReads,
    expiry_offset: u32,
    soft_flag_offset: Option<u32>,
    ns_per_tick: u32,
    exit_timer: u32,
    /// `ipvs_est()` with the ip_vs module's BTF: how to find the walked namespace.
    netns: Option<NetnsPath>,
    fields: Vec<Field>,
    /// Whether the block reads `late` / `func` (see [`Probe::only_fields_read`]).
    late_read: bool,
    func_read: bool,
}

fn resolve_boxed(
    spec: &ProbeSpec,
    kernel: &dyn KernelInfo,
    family: &'static Family,
) -> Result<Box<dyn Probe>, ProbeError> {
    Ok(Box::new(resolve(spec, kernel, family)?))
}

fn resolve(spec: &ProbeSpec, kernel: &dyn KernelInfo, family: &'static Family) -> Result<Timer, ProbeError> {
    let probe = family.probe;
    let function = match spec {
        ProbeSpec::Typed { args, .. } => match args.as_slice() {
            [] => None,
            [ProbeArg::Str(name)] | [ProbeArg::Ident(name)] => Some(name.clone()),
            _ => return Err(ProbeError::bad_spec(format!("`{probe}` takes one callback name: {probe}(\"FUNCTION\")"))),
        },
        ProbeSpec::Path(_) => {
            return Err(ProbeError::bad_spec(format!("`{probe}` is written {probe}(\"FUNCTION\")")).at(0))
        }
    };
    let addresses = match &function {
        Some(name) => callback_addresses(name, kernel, family)?,
        None => Vec::new(),
    };
    let refusal = (family.clock == Clock::Nanoseconds).then_some(HRTIMER_TP_BTF_REFUSAL);
    let entry = TracepointHook::resolve(kernel, "timer", family.entry, refusal)?;
    let exit = TracepointHook::resolve(kernel, "timer", family.exit, None)?;
    let member_offset = |(struct_name, member): (&str, &str), needed_for: &str| {
        let found = kernel.struct_member(struct_name, member)?;
        found.map(|member| member.offset).ok_or_else(|| {
            ProbeError::new(
                ProbeErrorKind::MissingTarget,
                format!("BTF of this kernel has no `struct {struct_name}.{member}`, needed for {needed_for}"),
            )
        })
    };
    let expiry_offset = member_offset(family.expiry, "`late`")?;
    let entry_reads = match entry.reads_args() {
        true => EntryReads::Args {
            function_member: member_offset((family.expiry.0, "function"), "`func` and the callback filter")?,
            typed: matches!(entry.attach, Attach::TpBtf { .. }),
        },
        false => EntryReads::Record { function: entry.offset(0, "function")?, now: entry.offset(1, "now")? },
    };
    let soft_flag_offset = family.soft_flag.map(|flag| member_offset(flag, "pairing nested callbacks")).transpose()?;
    let ns_per_tick = match family.clock {
        Clock::Nanoseconds => 1,
        Clock::Jiffies => 1_000_000_000 / kernel.hz()?.max(1),
    };
    Ok(Timer {
        family,
        function,
        addresses,
        entry_timer: entry.offset(0, family.object)?,
        entry_reads,
        exit_timer: exit.offset(0, family.object)?,
        entry,
        exit,
        expiry_offset,
        soft_flag_offset,
        ns_per_tick,
        netns: None,
        late_read: true,
        func_read: true,
        fields: vec![
            Field { name: "dur".into(), ty: FieldType::Duration, source: FieldSource::Stack { offset: STACK_DUR } },
            Field {
                name: "func".into(),
                ty: FieldType::KernelSymbol,
                source: FieldSource::Stack { offset: STACK_FUNC },
            },
            Field { name: "late".into(), ty: FieldType::Duration, source: FieldSource::Stack { offset: STACK_LATE } },
        ],
    })
}

fn callback_addresses(name: &str, kernel: &dyn KernelInfo, family: &Family) -> Result<Vec<u64>, ProbeError> {
    let addresses = kernel.symbol_addresses(name)?;
    if !addresses.is_empty() {
        return Ok(addresses);
    }
    let error = ProbeError::new(
        ProbeErrorKind::MissingTarget,
        format!("{} callback `{name}` is not a symbol of this kernel (/proc/kallsyms)", family.probe),
    )
    .at(0);
    Err(error.with_hint(missing_callback_hint(name, kernel, family)))
}

fn missing_callback_hint(name: &str, kernel: &dyn KernelInfo, family: &Family) -> String {
    let version = kernel.version();
    if name == "estimation_timer" {
        if version.at_least(6, 2) {
            format!(
                "Linux {} runs the IPVS estimator in kthreads (since 6.2: ip_vs_estimation_kthread), so \
                 estimation_timer does not exist; `ipvs_est()` times the kthreads' walks",
                version.release
            )
        } else if !kernel.module_loaded("ip_vs") {
            "estimation_timer lives in the ip_vs module, which is not loaded: kube-proxy in IPVS mode loads it \
             (or `modprobe ip_vs`)"
                .to_string()
        } else {
            "ip_vs is loaded but estimation_timer is missing: this kernel may be built without the estimator".into()
        }
    } else {
        format!(
            "check the spelling; a callback in a module needs that module loaded; `{}()` traces every callback \
             and `func` names them",
            family.probe
        )
    }
}

impl Probe for Timer {
    fn describe(&self) -> String {
        match (&self.function, self.family.fixed_callback) {
            (Some(name), None) => format!("{}(\"{name}\")", self.family.probe),
            _ => format!("{}()", self.family.probe),
        }
    }

    fn attach(&self) -> Attach {
        self.exit.attach.clone()
    }

    fn notes(&self) -> Vec<String> {
        [&self.entry, &self.exit].into_iter().filter_map(TracepointHook::note).collect()
    }

    fn fields(&self) -> &[Field] {
        &self.fields
    }

    fn stack_bytes(&self) -> u32 {
        match self.netns {
            Some(_) => STACK_NETNS.unsigned_abs() as u32,
            None => STACK_KEY.unsigned_abs() as u32,
        }
    }

    fn maps(&self) -> Vec<MapSpec> {
        vec![MapSpec {
            name: "start".into(),
            kind: MapKind::PerCpuArray,
            key_size: 4,
            value_size: SLOT_SIZE,
            max_entries: self.slots().len() as u32,
            on_insert: false,
        }]
    }

    fn only_fields_read(&mut self, _kernel: &dyn KernelInfo, read: &[String]) -> Result<(), ProbeError> {
        let is_read = |name: &str| read.iter().any(|field| field == name);
        self.late_read = is_read("late");
        self.func_read = is_read("func");
        if !is_read("netns") {
            self.netns = None;
        }
        Ok(())
    }

    fn emit_prologue(&self, b: &mut Builder, env: &EmitEnv) {
        b.comment(format!("{}: pair with this timer's entry on this CPU", self.describe()));
        let paired = b.new_label();
        b.load(Size::DW, Reg::R8, env.ctx, self.exit_timer as i16);
        let slots = self.slots();
        for (i, &slot) in slots.iter().enumerate() {
            let last = i + 1 == slots.len();
            let next = if last { env.exit } else { b.new_label() };
            b.store_imm(Size::W, Reg::R10, STACK_KEY, slot);
            super::lookup_stack_key(b, env.maps[0], STACK_KEY, next);
            b.mov64(Reg::R7, Reg::R0);
            b.load(Size::DW, Reg::R1, Reg::R7, SLOT_START);
            b.jump_if(JmpOp::Eq, Reg::R1, 0, next);
            b.load(Size::DW, Reg::R2, Reg::R7, SLOT_TIMER);
            b.jump_if(JmpOp::Ne, Reg::R2, Reg::R8, next);
            if !last {
                b.jump(paired);
                b.bind(next);
            }
        }
        b.bind(paired);
        b.call(Helper::KtimeGetNs);
        b.load(Size::DW, Reg::R1, Reg::R7, SLOT_START);
        b.alu64(AluOp::Sub, Reg::R0, Reg::R1);
        b.store(Size::DW, Reg::R10, STACK_DUR, Reg::R0);
        if self.func_read {
            b.load(Size::DW, Reg::R1, Reg::R7, SLOT_FUNCTION);
            b.store(Size::DW, Reg::R10, STACK_FUNC, Reg::R1);
        }
        if self.late_read {
            b.load(Size::DW, Reg::R1, Reg::R7, SLOT_LATE);
            b.store(Size::DW, Reg::R10, STACK_LATE, Reg::R1);
        }
        b.store_imm(Size::DW, Reg::R7, SLOT_START, 0);
        if let Some(path) = self.netns {
            emit_netns(b, path);
        }
    }

    fn companions(&self, maps: &[usize]) -> Result<Vec<Companion>, ProbeError> {
        let about = format!("{}: remember the start on this CPU", self.describe());
        let program = super::companion_program(about, |b, exit| {
            b.mov64(Reg::R6, Reg::R1);
            let needs_function = self.func_read || !self.addresses.is_empty();
            if needs_function {
                self.emit_function(b);
            }
            if !self.addresses.is_empty() {
                emit_address_filter(b, Reg::R8, &self.addresses, exit);
            }
            self.emit_slot_key(b, -4);
            super::lookup_stack_key(b, maps[0], -4, exit);
            b.mov64(Reg::R7, Reg::R0);
            b.load(Size::DW, Reg::R1, Reg::R6, self.entry_timer as i16);
            b.store(Size::DW, Reg::R7, SLOT_TIMER, Reg::R1);
            if needs_function {
                b.store(Size::DW, Reg::R7, SLOT_FUNCTION, Reg::R8);
            }
            if self.late_read {
                self.emit_lateness(b);
            }
            b.call(Helper::KtimeGetNs);
            b.store(Size::DW, Reg::R7, SLOT_START, Reg::R0);
        })?;
        Ok(vec![Companion { suffix: "entry", attach: self.entry.attach.clone(), program }])
    }
}

/// `r10 + STACK_NETNS = timer(r8) -> container netns_ipvs -> net -> ns.inum` (0 when unreadable); uses r1-r3.
fn emit_netns(b: &mut Builder, path: NetnsPath) {
    b.comment("netns: container_of(timer, struct netns_ipvs, est_timer)->net->ns.inum");
    super::read_kernel_chain(b, STACK_NETNS, Reg::R8, &[path.net_from_timer as i32, path.inum as i32], 4);
}

impl Timer {
    /// The slots the exit looks in, in order: hrtimers have a hard and a soft slot, timer-wheel timers one.
    fn slots(&self) -> &'static [i32] {
        match self.soft_flag_offset {
            Some(_) => &[HARD_SLOT, SOFT_SLOT],
            None => &[SOFT_SLOT],
        }
    }

    /// `r8 = the callback`, from the record or from the timer (the context is at `r6`); uses r1-r3 and 8 bytes
    /// at `r10 - 16`.
    fn emit_function(&self, b: &mut Builder) {
        match self.entry_reads {
            EntryReads::Record { function, .. } => b.load(Size::DW, Reg::R8, Reg::R6, function as i16),
            EntryReads::Args { function_member, typed: true } => {
                b.load(Size::DW, Reg::R3, Reg::R6, self.entry_timer as i16);
                b.load(Size::DW, Reg::R8, Reg::R3, function_member as i16);
            }
            EntryReads::Args { function_member, typed: false } => {
                b.comment(format!("func: {}.function", self.family.expiry.0));
                self.emit_read_timer(b, -16, function_member);
                b.load(Size::DW, Reg::R8, Reg::R10, -16);
            }
        }
    }

    /// `bpf_probe_read_kernel(r10 + at, 8, timer + member)`, the timer from the entry's context at `r6`; leaves
    /// the helper's result in r0.
    fn emit_read_timer(&self, b: &mut Builder, at: i16, member: u32) {
        b.stack_pointer(Reg::R1, at);
        b.mov64(Reg::R2, 8);
        b.load(Size::DW, Reg::R3, Reg::R6, self.entry_timer as i16);
        b.alu64(AluOp::Add, Reg::R3, member as i32);
        b.call(Helper::ProbeReadKernel);
    }

    /// `r1 = now`, in the unit of the timer's expiry: the record's field, `bpf_jiffies64()` or `*now` (8 bytes
    /// at `r10 - 24` when read from argument 1); uses r0-r5.
    fn emit_now(&self, b: &mut Builder) {
        match (&self.entry_reads, self.family.clock) {
            (EntryReads::Record { now, .. }, _) => b.load(Size::DW, Reg::R1, Reg::R6, *now as i16),
            (EntryReads::Args { .. }, Clock::Jiffies) => {
                b.call(Helper::Jiffies64);
                b.mov64(Reg::R1, Reg::R0);
            }
            (EntryReads::Args { .. }, Clock::Nanoseconds) => {
                b.stack_pointer(Reg::R1, -24);
                b.mov64(Reg::R2, 8);
                b.load(Size::DW, Reg::R3, Reg::R6, 8);
                b.call(Helper::ProbeReadKernel);
                b.load(Size::DW, Reg::R1, Reg::R10, -24);
            }
        }
    }

    /// Stores the entry's slot as a u32 at `r10 + key`: the soft slot, or for hrtimers without `is_soft` the
    /// hard one. The record is at `r6`; uses r1-r3.
    fn emit_slot_key(&self, b: &mut Builder, key: i16) {
        b.store_imm(Size::W, Reg::R10, key, SOFT_SLOT);
        let Some(offset) = self.soft_flag_offset else { return };
        let soft = b.new_label();
        b.comment("hard or soft hrtimer: hrtimer.is_soft");
        b.stack_pointer(Reg::R1, key - 4);
        b.store_imm(Size::W, Reg::R1, 0, 1);
        b.mov64(Reg::R2, 1);
        b.load(Size::DW, Reg::R3, Reg::R6, self.entry_timer as i16);
        b.alu64(AluOp::Add, Reg::R3, offset as i32);
        b.call(Helper::ProbeReadKernel);
        b.load(Size::B, Reg::R1, Reg::R10, key - 4);
        b.jump_if(JmpOp::Ne, Reg::R1, 0, soft);
        b.store_imm(Size::W, Reg::R10, key, HARD_SLOT);
        b.bind(soft);
    }

    /// Stores `now - expiry` (0 if negative or unreadable), in nanoseconds, at `SLOT_LATE` of the slot at `r7`.
    /// The context is at `r6`; uses r0-r5 and 16 bytes at `r10 - 24`.
    fn emit_lateness(&self, b: &mut Builder) {
        let store = b.new_label();
        b.comment(format!("late: now - {}.{}", self.family.expiry.0, self.family.expiry.1));
        self.emit_read_timer(b, -16, self.expiry_offset);
        b.mov64(Reg::R1, 0);
        b.jump_if(JmpOp::Ne, Reg::R0, 0, store);
        self.emit_now(b);
        b.load(Size::DW, Reg::R2, Reg::R10, -16);
        b.alu64(AluOp::Sub, Reg::R1, Reg::R2);
        let positive = b.new_label();
        b.jump_if(JmpOp::Sgt, Reg::R1, 0, positive);
        b.mov64(Reg::R1, 0);
        b.bind(positive);
        if self.ns_per_tick != 1 {
            b.alu64(AluOp::Mul, Reg::R1, self.ns_per_tick as i32);
        }
        b.bind(store);
        b.store(Size::DW, Reg::R7, SLOT_LATE, Reg::R1);
    }
}

/// Continues only when `value` is one of `addresses`, else jumps to `exit`.
fn emit_address_filter(b: &mut Builder, value: Reg, addresses: &[u64], exit: Label) {
    let matched = b.new_label();
    for (i, &address) in addresses.iter().enumerate() {
        let last = i + 1 == addresses.len();
        let (op, target) = if last { (JmpOp::Ne, exit) } else { (JmpOp::Eq, matched) };
        match i32::try_from(address as i64) {
            Ok(imm) => b.jump_if(op, value, imm, target),
            Err(_) => {
                b.ld_imm64(Reg::R1, address);
                b.jump_if(op, value, Reg::R1, target);
            }
        }
    }
    b.bind(matched);
}
