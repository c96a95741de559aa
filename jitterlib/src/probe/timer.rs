//! `timer(FUNCTION)` and `hrtimer(FUNCTION)`: each run of a timer-wheel or high-resolution timer callback,
//! with its duration.
//!
//! Two programs: on `timer:{hr,}timer_expire_entry` the companion keeps (timer, start time, callback) in a
//! per-CPU slot when the callback is FUNCTION (addresses from kallsyms, compared in BPF); on
//! `timer:{hr,}timer_expire_exit` the main program pairs the exit with that slot (same CPU, same timer),
//! computes `dur` and runs the block. Timer-wheel callbacks run one at a time per CPU in TIMER softirq, and
//! hrtimer callbacks one at a time per CPU in hard interrupt context, so one slot per CPU and per probe is
//! enough (an hrtimer interrupting a timer-wheel callback uses the other probe's slot).

use super::{
    Companion, EmitEnv, Field, FieldSource, FieldType, Probe, ProbeArg, ProbeError, ProbeErrorKind, ProbeKind,
    ProbeSpec,
};
use crate::insn::{AluOp, Builder, Helper, JmpOp, Label, Reg, Size};
use crate::kernel::{KernelError, KernelInfo};
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
    ],
    resolve: |spec, kernel| resolve(spec, kernel, &TIMER_WHEEL),
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
    ],
    resolve: |spec, kernel| resolve(spec, kernel, &HRTIMER),
};

/// Registry entry for the IPVS estimator walk.
pub(super) static IPVS_EST_KIND: ProbeKind = ProbeKind {
    name: "ipvs_est",
    aliases: &[],
    syntax: "ipvs_est()",
    about: "each IPVS estimator walk (estimation_timer, kernels < 6.2 with ip_vs loaded), when it ends",
    fields: &[("dur", "time the walk took (ns)"), ("func", "the walk's function (estimation_timer)")],
    resolve: resolve_ipvs_estimator,
};

/// What differs between the timer families: probe name, tracepoints, the timer's field name, and a callback
/// the probe always traces (the IPVS estimator).
#[derive(Debug)]
struct Family {
    probe: &'static str,
    entry: &'static str,
    exit: &'static str,
    object: &'static str,
    fixed_callback: Option<&'static str>,
}

static TIMER_WHEEL: Family = Family {
    probe: "timer",
    entry: "timer_expire_entry",
    exit: "timer_expire_exit",
    object: "timer",
    fixed_callback: None,
};
static HRTIMER: Family = Family {
    probe: "hrtimer",
    entry: "hrtimer_expire_entry",
    exit: "hrtimer_expire_exit",
    object: "hrtimer",
    fixed_callback: None,
};
static IPVS_ESTIMATOR: Family = Family { probe: "ipvs_est", fixed_callback: Some("estimation_timer"), ..TIMER_WHEEL };

/// `ipvs_est()`: on kernels < 6.2 the estimator is the `estimation_timer` timer-wheel callback of the ip_vs
/// module; 6.2 and later estimate in kthreads (`ip_vs_estimation_kthread`), which this probe does not time yet.
fn resolve_ipvs_estimator(spec: &ProbeSpec, kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    if !matches!(spec, ProbeSpec::Typed { args, .. } if args.is_empty()) {
        return Err(bad_spec("`ipvs_est` takes no arguments: ipvs_est()").at(0));
    }
    let callback = IPVS_ESTIMATOR.fixed_callback.unwrap_or("estimation_timer");
    if kernel.symbol_addresses(callback).map_err(kernel_error)?.is_empty() && kernel.version().at_least(6, 2) {
        return Err(ProbeError::new(
            ProbeErrorKind::MissingTarget,
            format!(
                "Linux {} estimates IPVS rates in kthreads (ip_vs_estimation_kthread, since 6.2); ipvs_est() times \
                 the estimation_timer walk of older kernels",
                kernel.version().release
            ),
        )
        .with_hint("time the kthread's ticks with `kprobe:ip_vs_tick_estimation` / `kretprobe:ip_vs_tick_estimation`")
        .at(0));
    }
    let spec = ProbeSpec::Typed { name: "ipvs_est".into(), args: vec![ProbeArg::Str(callback.into())] };
    resolve(&spec, kernel, &IPVS_ESTIMATOR)
}

/// Slot layout in the per-CPU state map.
const SLOT_TIMER: i16 = 0;
const SLOT_START: i16 = 8;
const SLOT_FUNCTION: i16 = 16;
const SLOT_SIZE: u32 = 24;

/// Stack layout of the main program's prologue (top of frame).
const STACK_DUR: i16 = -8;
const STACK_FUNC: i16 = -16;
const STACK_KEY: i16 = -20;

#[derive(Debug)]
struct Timer {
    family: &'static Family,
    function: Option<String>,
    addresses: Vec<u64>,
    entry_timer: u32,
    entry_function: u32,
    exit_timer: u32,
    fields: [Field; 2],
}

fn resolve(spec: &ProbeSpec, kernel: &dyn KernelInfo, family: &'static Family) -> Result<Box<dyn Probe>, ProbeError> {
    let probe = family.probe;
    let function = match spec {
        ProbeSpec::Typed { args, .. } => match args.as_slice() {
            [] => None,
            [ProbeArg::Str(name)] | [ProbeArg::Ident(name)] => Some(name.clone()),
            _ => return Err(bad_spec(&format!("`{probe}` takes one callback name: {probe}(\"FUNCTION\")"))),
        },
        ProbeSpec::Path(_) => return Err(bad_spec(&format!("`{probe}` is written {probe}(\"FUNCTION\")")).at(0)),
    };
    let addresses = match &function {
        Some(name) => callback_addresses(name, kernel, family)?,
        None => Vec::new(),
    };
    let entry = kernel.tracepoint("timer", family.entry).map_err(kernel_error)?;
    let exit = kernel.tracepoint("timer", family.exit).map_err(kernel_error)?;
    let offset = |format: &crate::kernel::TracepointFormat, field: &str| {
        format.field(field).map(|f| f.offset).ok_or_else(|| {
            ProbeError::new(
                ProbeErrorKind::MissingTarget,
                format!("tracepoint timer:{} has no field `{field}` on this kernel", format.name),
            )
        })
    };
    Ok(Box::new(Timer {
        family,
        function,
        addresses,
        entry_timer: offset(&entry, family.object)?,
        entry_function: offset(&entry, "function")?,
        exit_timer: offset(&exit, family.object)?,
        fields: [
            Field { name: "dur".into(), ty: FieldType::Duration, source: FieldSource::Stack { offset: STACK_DUR } },
            Field {
                name: "func".into(),
                ty: FieldType::KernelSymbol,
                source: FieldSource::Stack { offset: STACK_FUNC },
            },
        ],
    }))
}

fn bad_spec(message: &str) -> ProbeError {
    ProbeError::new(ProbeErrorKind::BadSpec, message)
}

fn kernel_error(error: KernelError) -> ProbeError {
    ProbeError::new(ProbeErrorKind::Kernel, error.to_string())
}

fn callback_addresses(name: &str, kernel: &dyn KernelInfo, family: &Family) -> Result<Vec<u64>, ProbeError> {
    let addresses = kernel.symbol_addresses(name).map_err(kernel_error)?;
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
                 estimation_timer does not exist; trace the kthread's work instead",
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
        Attach::Tracepoint { category: "timer".into(), name: self.family.exit.into() }
    }

    fn fields(&self) -> &[Field] {
        &self.fields
    }

    fn stack_bytes(&self) -> u32 {
        STACK_KEY.unsigned_abs() as u32
    }

    fn maps(&self) -> Vec<MapSpec> {
        vec![MapSpec {
            name: "start".into(),
            kind: MapKind::PerCpuArray,
            key_size: 4,
            value_size: SLOT_SIZE,
            max_entries: 1,
        }]
    }

    fn emit_prologue(&self, b: &mut Builder, env: &EmitEnv) {
        b.comment(format!("{}: pair with the entry on this CPU", self.describe()));
        lookup_slot(b, env.maps[0], STACK_KEY, env.exit);
        b.mov64(Reg::R7, Reg::R0);
        b.load(Size::DW, Reg::R1, Reg::R7, SLOT_START);
        b.jump_if(JmpOp::Eq, Reg::R1, 0, env.exit);
        b.load(Size::DW, Reg::R2, Reg::R7, SLOT_TIMER);
        b.load(Size::DW, Reg::R3, env.ctx, self.exit_timer as i16);
        b.jump_if(JmpOp::Ne, Reg::R2, Reg::R3, env.exit);
        b.call(Helper::KtimeGetNs);
        b.load(Size::DW, Reg::R1, Reg::R7, SLOT_START);
        b.alu64(AluOp::Sub, Reg::R0, Reg::R1);
        b.store(Size::DW, Reg::R10, STACK_DUR, Reg::R0);
        b.load(Size::DW, Reg::R1, Reg::R7, SLOT_FUNCTION);
        b.store(Size::DW, Reg::R10, STACK_FUNC, Reg::R1);
        b.store_imm(Size::DW, Reg::R7, SLOT_START, 0);
    }

    fn companions(&self, maps: &[usize]) -> Result<Vec<Companion>, ProbeError> {
        let mut b = Builder::new();
        let exit = b.new_label();
        b.comment(format!("{}: remember the start on this CPU", self.describe()));
        b.mov64(Reg::R6, Reg::R1);
        b.load(Size::DW, Reg::R8, Reg::R6, self.entry_function as i16);
        if !self.addresses.is_empty() {
            emit_address_filter(&mut b, Reg::R8, &self.addresses, exit);
        }
        lookup_slot(&mut b, maps[0], -4, exit);
        b.mov64(Reg::R7, Reg::R0);
        b.load(Size::DW, Reg::R1, Reg::R6, self.entry_timer as i16);
        b.store(Size::DW, Reg::R7, SLOT_TIMER, Reg::R1);
        b.store(Size::DW, Reg::R7, SLOT_FUNCTION, Reg::R8);
        b.call(Helper::KtimeGetNs);
        b.store(Size::DW, Reg::R7, SLOT_START, Reg::R0);
        b.bind(exit);
        b.mov64(Reg::R0, 0);
        b.exit();
        let program = b.finish().map_err(|error| ProbeError::new(ProbeErrorKind::Kernel, error.to_string()))?;
        Ok(vec![Companion {
            suffix: "entry",
            attach: Attach::Tracepoint { category: "timer".into(), name: self.family.entry.into() },
            program,
        }])
    }
}

/// `r0 = lookup(map, key 0)`, leaving through `exit` when absent. Uses the u32 at `r10 + key_offset`.
fn lookup_slot(b: &mut Builder, map: usize, key_offset: i16, exit: Label) {
    b.store_imm(Size::W, Reg::R10, key_offset, 0);
    super::lookup_stack_key(b, map, key_offset, exit);
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
