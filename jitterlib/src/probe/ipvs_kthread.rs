//! `ipvs_est()` on Linux 6.2 and later, where the IPVS estimator runs in kthreads
//! (`ip_vs_estimation_kthread`, net/netfilter/ipvs/ip_vs_est.c) instead of the `estimation_timer` callback.
//!
//! The kthread walks the estimators in 50 tick rows (one row every 40 ms, all of them every 2 s):
//! `ip_vs_tick_estimation(kd, row)` walks one row, calling `ip_vs_chain_estimation(chain)` once per chain of
//! it. Compilers may inline the first into the kthread (Debian's 6.12 does): then the probe times each chain
//! walk. Both are static functions of the ip_vs module, so they are reached by kprobe and kretprobe (jl attaches
//! fentry to vmlinux functions only).
//!
//! Pairing: the kthread may sleep (`cond_resched`) and move to another CPU inside a walk, so the entry keeps
//! its start time in a hash map keyed by the thread (`bpf_get_current_pid_tgid`), and the return takes it out.
//!
//! `netns`: neither function's arguments lead to the namespace when the chain walk is what is timed, but the
//! thread does: a kthread's `task_struct.worker_private` is its `struct kthread`, whose `data` is the
//! kthread's `struct ip_vs_est_kt_data`; from there `kd->ipvs->net->ns.inum`. Five `bpf_probe_read_kernel`
//! calls per walk, only when the block reads `netns`; offsets from vmlinux' and the ip_vs module's BTF.

use super::{EmitEnv, Field, FieldSource, FieldType, Point, Probe, ProbeError, ProbeErrorKind};
use crate::insn::{AluOp, Builder, Helper, JmpOp, Reg, Size};
use crate::kernel::{Availability, KernelInfo, Member};
use crate::maps::{MapKind, MapSpec};
use crate::session::Attach;

/// The kthread's walk functions, best first: one row per call, then one chain per call.
const WALK_FUNCTIONS: [&str; 2] = ["ip_vs_tick_estimation", "ip_vs_chain_estimation"];
/// Walks in progress at once: one per estimator kthread (a few per namespace).
const MAX_WALKS: u32 = 1024;

/// Stack layout: the walk's duration (also the start time the entry stores), the thread key, the namespace.
const STACK_DUR: i16 = -8;
const STACK_KEY: i16 = -16;
const STACK_NETNS: i16 = -24;

/// `ipvs_est()` on a kernel with estimator kthreads.
#[derive(Debug)]
pub(super) struct IpvsKthread {
    function: &'static str,
    /// Offsets from the current task to the walked namespace's inode number (`None`: no `netns` field).
    netns: Option<[u32; 5]>,
    fields: Vec<Field>,
}

/// Resolves `ipvs_est()` on Linux >= 6.2: the first of [`WALK_FUNCTIONS`] the kernel has, through kprobes.
pub(super) fn resolve(kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    let release = &kernel.version().release;
    if let Availability::Unavailable(why) = kernel.function_probes().kprobe {
        return Err(ProbeError::new(
            ProbeErrorKind::MissingTarget,
            format!(
                "ipvs_est() on Linux {release} times the IPVS estimator kthreads' walks with kprobes (the walk \
                 functions are static functions of the ip_vs module), and {why}"
            ),
        )
        .with_hint(
            "run it on a kernel built with CONFIG_KPROBES (Debian's and most distributions' are) with ip_vs \
             loaded; here, `profile:hz:99 { @[kstack] = count(); }` still shows the estimator kthreads' CPU time",
        )
        .at(0));
    }
    let mut found = None;
    for function in WALK_FUNCTIONS {
        if !kernel.symbol_addresses(function)?.is_empty() {
            found = Some(function);
            break;
        }
    }
    let Some(function) = found else {
        let hint = if kernel.module_loaded("ip_vs") {
            "ip_vs is loaded but has none of these functions: this kernel may be built without the estimator"
        } else {
            "they live in the ip_vs module, which is not loaded: kube-proxy in IPVS mode loads it (or `modprobe \
             ip_vs`)"
        };
        return Err(ProbeError::new(
            ProbeErrorKind::MissingTarget,
            format!(
                "Linux {release} estimates IPVS rates in kthreads, and this kernel has none of their walk \
                 functions ({})",
                WALK_FUNCTIONS.join(", ")
            ),
        )
        .with_hint(hint)
        .at(0));
    };
    let dur = Field { name: "dur".into(), ty: FieldType::Duration, source: FieldSource::Stack { offset: STACK_DUR } };
    let mut fields = vec![dur];
    let netns = netns_path(kernel)?;
    if netns.is_some() {
        let ty = FieldType::Int { size: 8, signed: false };
        fields.push(Field { name: "netns".into(), ty, source: FieldSource::Stack { offset: STACK_NETNS } });
    }
    Ok(Box::new(IpvsKthread { function, netns, fields }))
}

/// `task_struct.worker_private`, `kthread.data`, `ip_vs_est_kt_data.ipvs`, `netns_ipvs.net`, `net.ns.inum`:
/// `None` when BTF (vmlinux' or the ip_vs module's) lacks one of them.
fn netns_path(kernel: &dyn KernelInfo) -> Result<Option<[u32; 5]>, ProbeError> {
    let offset = |found: Option<Member>| found.map(|member| member.offset);
    let path = [
        offset(kernel.struct_member("task_struct", "worker_private")?),
        offset(kernel.struct_member("kthread", "data")?),
        offset(kernel.module_struct_member("ip_vs", "ip_vs_est_kt_data", "ipvs")?),
        offset(kernel.module_struct_member("ip_vs", "netns_ipvs", "net")?),
        offset(kernel.struct_member("net", "ns.inum")?),
    ];
    Ok(match path {
        [Some(task), Some(kthread), Some(kd), Some(ipvs), Some(net)] => Some([task, kthread, kd, ipvs, net]),
        _ => None,
    })
}

impl Probe for IpvsKthread {
    fn describe(&self) -> String {
        "ipvs_est()".into()
    }

    fn attach(&self) -> Attach {
        Attach::Kretprobe { function: self.function.into() }
    }

    fn points(&self) -> Vec<Point> {
        vec![
            Point { suffix: "entry", attach: Attach::Kprobe { function: self.function.into() }, fires: false },
            Point { suffix: "", attach: self.attach(), fires: true },
        ]
    }

    fn fields(&self) -> &[Field] {
        &self.fields
    }

    fn stack_bytes(&self) -> u32 {
        let deepest = if self.netns.is_some() { STACK_NETNS } else { STACK_KEY };
        u32::from(deepest.unsigned_abs())
    }

    fn only_fields_read(&mut self, _kernel: &dyn KernelInfo, read: &[String]) -> Result<(), ProbeError> {
        if !read.iter().any(|field| field == "netns") {
            self.netns = None;
        }
        Ok(())
    }

    fn maps(&self) -> Vec<MapSpec> {
        vec![MapSpec {
            name: "start".into(),
            kind: MapKind::Hash,
            key_size: 8,
            value_size: 8,
            max_entries: MAX_WALKS,
            on_insert: false,
        }]
    }

    fn notes(&self) -> Vec<String> {
        vec![format!(
            "kprobe/kretprobe: {} (Linux >= 6.2 estimator kthreads; fentry not used: the function is in module \
             ip_vs, and jl attaches fentry to vmlinux functions only)",
            self.function
        )]
    }

    fn emit_prologue(&self, b: &mut Builder, env: &EmitEnv) {
        let map = env.maps[0];
        b.call(Helper::GetCurrentPidTgid);
        b.store(Size::DW, Reg::R10, STACK_KEY, Reg::R0);
        if env.point == 0 {
            b.comment(format!("ipvs_est(): {} starts on this thread", self.function));
            b.call(Helper::KtimeGetNs);
            b.store(Size::DW, Reg::R10, STACK_DUR, Reg::R0);
            super::map_call(b, Helper::MapUpdateElem, map, STACK_KEY, Some(STACK_DUR));
            env.map_updates.emit_count(b);
            return;
        }
        b.comment(format!("ipvs_est(): {} returns: pair with this thread's entry", self.function));
        super::map_call(b, Helper::MapLookupElem, map, STACK_KEY, None);
        b.jump_if(JmpOp::Eq, Reg::R0, 0, env.exit);
        b.load(Size::DW, Reg::R7, Reg::R0, 0);
        b.call(Helper::KtimeGetNs);
        b.alu64(AluOp::Sub, Reg::R0, Reg::R7);
        b.store(Size::DW, Reg::R10, STACK_DUR, Reg::R0);
        super::map_call(b, Helper::MapDeleteElem, map, STACK_KEY, None);
        if let Some(path) = self.netns {
            emit_netns(b, path);
        }
    }
}

/// `r10 + STACK_NETNS = current->worker_private->data->ipvs->net->ns.inum` (0 when unreadable); uses r1-r3.
fn emit_netns(b: &mut Builder, path: [u32; 5]) {
    b.comment("netns: ((struct kthread *)current->worker_private)->data->ipvs->net->ns.inum");
    b.call(Helper::GetCurrentTask);
    let offsets = path.map(|offset| offset as i32);
    super::read_kernel_chain(b, STACK_NETNS, Reg::R0, &offsets, 4);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{FixtureKernel, FunctionProbes};

    fn with_kprobes() -> FixtureKernel {
        let refused = Availability::Unavailable("refused".into());
        FixtureKernel::bundled()
            .with_function_probes(FunctionProbes { fentry: refused, kprobe: Availability::Available })
    }

    #[test]
    fn without_ip_vs_says_to_load_it() {
        let error = resolve(&with_kprobes()).unwrap_err();
        assert_eq!(error.kind, ProbeErrorKind::MissingTarget);
        assert!(error.message.contains("ip_vs_tick_estimation, ip_vs_chain_estimation"), "{}", error.message);
        assert!(error.hint.as_deref().is_some_and(|hint| hint.contains("modprobe ip_vs")), "{error:?}");
    }

    #[test]
    fn without_kprobes_names_the_missing_feature() {
        let error = resolve(&FixtureKernel::bundled()).unwrap_err();
        assert!(error.message.contains("with kprobes"), "{}", error.message);
        assert!(error.hint.as_deref().is_some_and(|hint| hint.contains("CONFIG_KPROBES")), "{error:?}");
    }
}
