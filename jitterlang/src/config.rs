//! bpftrace 0.27's `config = { ... }` block: each setting mapped to jl's own option where jl has one
//! (`max_map_keys` is `--map-keys`; the command line wins, then bpftrace's environment variables ([`ENVIRONMENT`]);
//! `max_cat_bytes` is how much of a file `cat()` prints; `unstable_tseries` and `unstable_macro` are accepted,
//! `tseries()` and macros being stable in jl), a diagnostic
//! saying what to write instead for the others. Names are accepted as bpftrace accepts them: `max_map_keys`,
//! `MAX_MAP_KEYS` or `BPFTRACE_MAX_MAP_KEYS`.
//!
//! `print_maps_on_exit = 0` leaves the maps out of what jl prints at exit; `missing_probes = warn` (or `ignore`)
//! skips the attach points this kernel lacks instead of refusing the script (see [`MissingProbes`]). `license` takes
//! the values bpftrace 0.27 takes: every one of them is GPL-compatible, the only property of a program's license the
//! kernel keeps, so jl's programs go on declaring `GPL` and behave the same under any of them.
//!
//! `on_stack_limit` is accepted and changes nothing: bpftrace moves values larger than it from the BPF stack into
//! pre-allocated per-CPU memory, so that big strings and tuples do not overflow the 512-byte stack at load time.
//! jl keeps every value on the stack, packed and released per statement, and says at compile time (E0401, with
//! the bytes needed) when a probe would need more than 512 bytes, so there is nothing for the setting to move.

use crate::ast::ConfigSetting;
use crate::diag::{Code, Diagnostic, Diagnostics, Span};

/// What a script's config block sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `max_map_keys`: the keys each keyed map holds.
    pub map_keys: Option<u32>,
    /// `max_cat_bytes`: the most of a file `cat()` prints.
    pub cat_bytes: Option<u64>,
    /// `print_maps_on_exit`: whether the maps are printed at exit (default yes).
    pub print_maps_at_exit: bool,
    /// `missing_probes`: what an attach point this kernel lacks does to the script.
    pub missing_probes: MissingProbes,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { map_keys: None, cat_bytes: None, print_maps_at_exit: true, missing_probes: MissingProbes::Error }
    }
}

/// bpftrace's `missing_probes` setting: what an attach point the kernel lacks (`tracepoint:syscalls:nonsense`, a
/// function with no BTF, a uprobe's missing symbol) does. Only missing targets: a malformed probe is always an
/// error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingProbes {
    /// The script does not compile (the default).
    #[default]
    Error,
    /// The attach point is skipped with a warning; a block left with none is removed.
    Warn,
    /// The attach point is skipped silently.
    Ignore,
}

/// The licenses bpftrace 0.27 accepts in `config = { license = "..." }`, all GPL-compatible.
const LICENSES: &[&str] =
    &["GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"];

/// bpftrace 0.27's other config variables, with what a jl user writes instead.
const OTHERS: &[(&str, &str)] = &[
    ("max_strlen", "give each string its size where it is read: `str(p, 128)`"),
    ("stack_mode", "jl prints stacks in bpftrace's default mode only (`kstack(bpftrace)`)"),
    ("cache_user_symbols", "jl has no such setting"),
    ("cpp_demangle", "jl always demangles C++ and Rust names"),
    ("lazy_symbolication", "jl has no such setting"),
    ("log_size", "jl sizes the verifier log itself"),
    ("max_bpf_progs", "jl has no limit on the number of programs"),
    ("max_probes", "jl has no limit on the number of probes"),
    ("perf_rb_pages", "jl sizes its event ring buffer itself"),
    ("show_debug_info", "`jl -d` prints the disassembly"),
    ("str_trunc_trailer", "jl has no such setting"),
    ("unstable_map_decl", "jl maps need no declaration"),
    ("unstable_import", "jl has no imports"),
];

/// Checks a config block: the settings jl honours, or every diagnostic. `environment` holds bpftrace's config
/// variables set in jl's environment (`("BPFTRACE_MAX_CAT_BYTES", "1")`, see [`ENVIRONMENT`]): as in bpftrace,
/// they win over the script's block.
pub fn settings(config: &[ConfigSetting], environment: &[(String, String)]) -> Result<Settings, Diagnostics> {
    let mut settings = Settings::default();
    let mut diagnostics = Vec::new();
    for setting in config {
        apply(&mut settings, setting, &mut |diagnostic| diagnostics.push(diagnostic));
    }
    for (name, value) in environment {
        let setting = ConfigSetting {
            name: name.clone(),
            value: value.clone(),
            span: Span::default(),
            value_span: Span::default(),
        };
        apply(&mut settings, &setting, &mut |diagnostic| {
            diagnostics.push(diagnostic.with_note(format!("from the environment: {name}={value}")))
        });
    }
    if diagnostics.is_empty() {
        Ok(settings)
    } else {
        Err(Diagnostics(diagnostics))
    }
}

/// The environment variables jl reads as bpftrace reads them: those of the config settings jl honours (bpftrace's
/// others, `BPFTRACE_MAX_STRLEN`, `BPFTRACE_LOG_SIZE`, ..., are left alone: they are the user's environment, not
/// the script's request).
pub const ENVIRONMENT: &[&str] =
    &["BPFTRACE_MAX_MAP_KEYS", "BPFTRACE_MAX_CAT_BYTES", "BPFTRACE_PRINT_MAPS_ON_EXIT", "BPFTRACE_MISSING_PROBES"];

/// Applies one setting to `settings`, or gives `push` what is wrong with it.
fn apply(settings: &mut Settings, setting: &ConfigSetting, push: &mut dyn FnMut(Diagnostic)) {
    let lower = setting.name.to_ascii_lowercase();
    let name = lower.strip_prefix("bpftrace_").unwrap_or(&lower);
    if name == "max_map_keys" {
        match setting.value.parse::<u32>() {
            Ok(keys) if keys > 0 => settings.map_keys = Some(keys),
            _ => push(Diagnostic::new(
                Code::Limit,
                setting.value_span,
                format!("max_map_keys is a positive number of keys, not `{}`", setting.value),
            )),
        }
        return;
    }
    if name == "on_stack_limit" {
        if setting.value.parse::<u64>().is_err() {
            push(Diagnostic::new(
                Code::Limit,
                setting.value_span,
                format!("on_stack_limit is a number of bytes, not `{}`", setting.value),
            ));
        }
        return;
    }
    if name == "max_cat_bytes" {
        match setting.value.parse::<u64>() {
            Ok(bytes) => settings.cat_bytes = Some(bytes),
            Err(_) => push(Diagnostic::new(
                Code::Limit,
                setting.value_span,
                format!("max_cat_bytes is a number of bytes, not `{}`", setting.value),
            )),
        }
        return;
    }
    if name == "print_maps_on_exit" {
        match bool_value(&setting.value) {
            Some(print) => settings.print_maps_at_exit = print,
            None => push(
                Diagnostic::new(
                    Code::Limit,
                    setting.value_span,
                    format!("print_maps_on_exit is true or false, not `{}`", setting.value),
                )
                .with_hint("`print_maps_on_exit = 0` leaves the maps out of what jl prints at exit"),
            ),
        }
        return;
    }
    if name == "missing_probes" {
        match setting.value.as_str() {
            "error" => settings.missing_probes = MissingProbes::Error,
            "warn" => settings.missing_probes = MissingProbes::Warn,
            "ignore" => settings.missing_probes = MissingProbes::Ignore,
            other => push(
                Diagnostic::new(
                    Code::Limit,
                    setting.value_span,
                    format!("missing_probes is `error`, `warn` or `ignore`, not `{other}`"),
                )
                .with_hint("`missing_probes = warn` skips the attach points this kernel lacks, saying which"),
            ),
        }
        return;
    }
    if name == "license" {
        if !LICENSES.contains(&setting.value.as_str()) {
            push(
                Diagnostic::new(
                    Code::Limit,
                    setting.value_span,
                    format!("`{}` is not a license the kernel lets tracing programs declare", setting.value),
                )
                .with_hint(format!("take one of {}", LICENSES.join(", "))),
            );
        }
        return;
    }
    if name == "unstable_tseries" || name == "unstable_macro" {
        // bpftrace gates `tseries()` and macros behind these flags; jl's are stable, so any value is accepted.
        return;
    }
    let diagnostic = match OTHERS.iter().find(|(other, _)| *other == name) {
        Some((_, instead)) => Diagnostic::new(Code::Unsupported, setting.span, format!("jl has no `{name}` setting"))
            .with_hint(format!("{instead}; remove it from the config block")),
        None => Diagnostic::new(Code::UnknownIdent, setting.span, format!("unknown config setting `{}`", setting.name))
            .with_hint("jl takes `max_map_keys` (as `jl --map-keys N`)"),
    };
    push(diagnostic);
}

/// A boolean setting's value as bpftrace reads one: `true`/`on`/`yes`, `false`/`off`/`no` in any case, or a
/// number (non-zero is true).
fn bool_value(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" => Some(true),
        "false" | "off" | "no" => Some(false),
        number => number.parse::<u64>().ok().map(|n| n != 0),
    }
}
