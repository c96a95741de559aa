//! jitterlang: a small bpftrace-like language compiled straight to eBPF bytecode.
#![deny(missing_docs)]

pub mod ast;
pub mod callsite;
pub mod codegen;
pub mod config;
pub mod diag;
pub mod filter;
pub mod ir;
pub mod printf;
pub mod records;
pub mod runtime;
pub mod scripts;
pub mod sema;
pub mod syntax;
pub mod verifier;
pub mod wire;

use jitterlib::kernel::KernelInfo;
use jitterlib::maps::HashAllocation;

/// Compiles a script: parse, check against the kernel, generate programs and the ELF object.
pub fn compile(source: &str, kernel: &dyn KernelInfo) -> Result<codegen::Compiled, diag::Diagnostics> {
    compile_with(source, kernel, &CompileOptions::default())
}

/// Options that change what a script compiles to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompileOptions {
    /// Only trace events of this process (`jl -p`).
    pub pid: Option<u32>,
    /// The script's positional arguments: `$1`, `$2`, ... (`str($1)` for text).
    pub args: Vec<String>,
    /// `(name, value)` pairs setting the script's parameters and options (`param $name = default`, `getopt("name", d)`;
    /// `jl --arg name=value`, `jl script -- --name=value`).
    pub named_args: Vec<(String, String)>,
    /// Allow statements that act on the system, `signal()` and `system()` (`jl --unsafe`).
    pub unsafe_actions: bool,
    /// Keys each keyed map holds (`jl --map-keys`); `None`: `BPFTRACE_MAX_MAP_KEYS` in [`Self::environment`],
    /// else the script's `config = { max_map_keys = N }`, else [`jitterlib::maps::DEFAULT_MAP_KEYS`].
    pub map_keys: Option<u32>,
    /// bpftrace's config variables in jl's environment (`("BPFTRACE_MAX_CAT_BYTES", "1")`), those of
    /// [`config::ENVIRONMENT`]: they win over the script's config block, as in bpftrace.
    pub environment: Vec<(String, String)>,
    /// The script's name as `errorf()` and `warnf()` print it (a file's path); `None` for a program given with
    /// `-e`, which they call `stdin`, as bpftrace does.
    pub file_name: Option<String>,
    /// The pid namespace `pid` and `tid` count in when it is not the initial one (jl run in a container without
    /// the host's pids): [`PidNamespace::of_this_process`].
    pub pid_namespace: Option<PidNamespace>,
}

/// A pid namespace, as `bpf_get_ns_current_pid_tgid` names it: the device and inode of its nsfs file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PidNamespace {
    /// The nsfs device (`st_dev` of /proc/self/ns/pid).
    pub dev: u64,
    /// Its inode.
    pub ino: u64,
}

impl PidNamespace {
    /// The inode of the initial pid namespace (`PROC_PID_INIT_INO`, include/linux/proc_ns.h).
    const INIT_INO: u64 = 0xEFFF_FFFC;

    /// The pid namespace this process runs in, when it is not the initial one (as bpftrace, `pid` then counts
    /// in it); `None` in the initial namespace or when /proc/self/ns/pid cannot be read.
    pub fn of_this_process() -> Option<PidNamespace> {
        use std::os::unix::fs::MetadataExt;
        let found = std::fs::metadata("/proc/self/ns/pid").ok()?;
        (found.ino() != Self::INIT_INO).then(|| PidNamespace { dev: found.dev(), ino: found.ino() })
    }
}

/// [`compile`] with options.
pub fn compile_with(
    source: &str,
    kernel: &dyn KernelInfo,
    options: &CompileOptions,
) -> Result<codegen::Compiled, diag::Diagnostics> {
    let mut script = syntax::parse(source)?;
    if let Some(pid) = options.pid {
        filter::restrict_to_pid(&mut script, pid);
    }
    let configured = config::settings(&script.config, &options.environment)?;
    let mut checked = sema::check(&script, kernel, options, configured.missing_probes).map_err(|diagnostics| {
        let expansions = &script.expansions;
        let explained = diagnostics.0.into_iter().map(|d| syntax::defines::explain_defines(d, source));
        diag::Diagnostics(explained.map(|d| syntax::macros::point_at_calls(d, expansions)).collect())
    })?;
    let file_name = options.file_name.as_deref().unwrap_or("stdin");
    callsite::fill(&mut checked.printfs, file_name, source, &script.expansions);
    let settings = codegen::MapSettings {
        keys: options.map_keys.or(configured.map_keys).unwrap_or(jitterlib::maps::DEFAULT_MAP_KEYS),
        allocation: HashAllocation::for_machine(kernel),
    };
    let compiled = codegen::generate(&checked, &settings)?;
    Ok(codegen::Compiled {
        cat_bytes: configured.cat_bytes.unwrap_or(compiled.cat_bytes),
        print_maps_at_exit: configured.print_maps_at_exit,
        ..compiled
    })
}
