//! Where results go: text in bpftrace's layout, or JSON lines.

use super::bench::Measured;
use super::events::{Outlier, Value};
use crate::wire::Stat;
use jitterlib::agg::{
    format_buf, format_duration, json_line, render_folded, render_json, render_text, KernelSymbols, Snapshot,
    Symbolizer,
};
use jitterlib::cgroup::{CgroupFilter, CgroupPaths};
use jitterlib::kernel::KernelInfo;
use jitterlib::units::format_time;
use jitterlib::usym::UserSymbols;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;

/// Output formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human-readable text (bpftrace's layout).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
    /// Folded stacks (`frame;frame count`) of maps keyed by a stack (`kstack`, `ustack`), for flame graphs;
    /// `printf` lines and other maps go to stderr.
    Folded,
}

/// Writes printf lines, maps and the lost-data report.
pub(super) struct Output<'a> {
    out: &'a mut dyn Write,
    format: OutputFormat,
    symbols: &'a Symbols<'a>,
}

/// Resolves kernel addresses through the kernel metadata (`name+offset`, or hex when unknown), and user-space
/// addresses through the processes' mappings and ELF files (see [`UserSymbols`]), caching what it reads.
pub struct Symbols<'a> {
    kernel: KernelSymbols<'a>,
    user: UserSymbols,
    cgroups: CgroupPaths,
    /// Task names the probes recorded, by their culprits' name hash.
    tasks: RefCell<HashMap<u64, String>>,
}

impl<'a> Symbols<'a> {
    /// A symbolizer over `kernel` and the running processes.
    pub fn new(kernel: &'a dyn KernelInfo) -> Symbols<'a> {
        Symbols {
            kernel: KernelSymbols::new(kernel),
            user: UserSymbols::new(),
            cgroups: CgroupPaths::new(),
            tasks: RefCell::default(),
        }
    }

    /// Remembers task names that probes recorded: they name task culprits from then on.
    pub fn remember_tasks(&self, names: Vec<(u64, String)>) {
        self.tasks.borrow_mut().extend(names);
    }
}

impl Symbolizer for Symbols<'_> {
    fn symbolize(&self, address: u64) -> String {
        self.kernel.symbolize(address)
    }

    fn symbolize_user(&self, pid: u32, address: u64) -> String {
        self.user.describe(pid, address)
    }

    fn user_symbol(&self, pid: u32, address: u64) -> String {
        self.user.function_name(pid, address)
    }

    fn cgroup_path(&self, id: u64, filter: CgroupFilter) -> String {
        self.cgroups.describe(id, filter)
    }

    fn user_name(&self, uid: u32) -> String {
        user_name(uid).unwrap_or_else(|| uid.to_string())
    }

    fn task_name(&self, name: u64) -> Option<String> {
        self.tasks.borrow().get(&name).cloned()
    }

    fn irq_name(&self, irq: u32) -> Option<String> {
        self.kernel.irq_name(irq)
    }
}

impl<'a> Output<'a> {
    pub(super) fn new(out: &'a mut dyn Write, format: OutputFormat, symbols: &'a Symbols<'a>) -> Output<'a> {
        Output { out, format, symbols }
    }

    /// The symbolizer used for rendering.
    pub(super) fn symbols(&self) -> &'a Symbols<'a> {
        self.symbols
    }

    /// Marks the start of a periodic print (`-i`): a timestamp line in text, nothing in JSON (each map line
    /// stands alone).
    pub(super) fn interval_header(&mut self) -> std::io::Result<()> {
        if self.format != OutputFormat::Json {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            writeln!(self.out, "--- {} ---", format_clock(now.as_secs()))?;
        }
        Ok(())
    }

    pub(super) fn printf(&mut self, text: &str) -> std::io::Result<()> {
        self.text("printf", text)
    }

    /// Text from the script: `printf`, `time()`, the output of `system()`; in JSON an object of type `kind`.
    pub(super) fn text(&mut self, kind: &str, text: &str) -> std::io::Result<()> {
        match self.format {
            OutputFormat::Text => self.out.write_all(text.as_bytes())?,
            OutputFormat::Folded => eprint!("{text}"),
            OutputFormat::Json => {
                writeln!(self.out, "{}", json_line(&serde_json::json!({ "type": kind, "data": text })))?
            }
        }
        self.out.flush()
    }

    /// An `errorf()` or `warnf()` message: on stderr, as bpftrace prints them, after what was printed before it.
    pub(super) fn report(&mut self, text: &str) -> std::io::Result<()> {
        self.out.flush()?;
        eprintln!("{text}");
        Ok(())
    }

    /// `print(v)` of a value: the value on a line of its own, as bpftrace 0.27 prints it; in JSON an object of
    /// type `value`.
    pub(super) fn value(&mut self, value: &Value) -> std::io::Result<()> {
        match self.format {
            OutputFormat::Text => writeln!(self.out, "{}", value_text(value))?,
            OutputFormat::Folded => eprintln!("{}", value_text(value)),
            OutputFormat::Json => {
                writeln!(self.out, "{}", json_line(&serde_json::json!({ "type": "value", "data": json_value(value) })))?
            }
        }
        self.out.flush()
    }

    /// One `outlier()` report: a line `TIME PROBE cpu=.. comm=.. pid=.. FIELDS dur=..` and the kernel stack, one
    /// frame per line; in JSON an object of type `outlier`.
    pub(super) fn outlier(&mut self, outlier: &Outlier) -> std::io::Result<()> {
        let time = format_time(OUTLIER_TIME_FORMAT, outlier.unix_ns);
        let frames: Vec<String> = outlier.frames.iter().map(|address| self.symbols.symbolize(*address)).collect();
        if self.format == OutputFormat::Json {
            let mut data = serde_json::Map::new();
            data.insert("time".into(), time.into());
            data.insert("unix_ns".into(), serde_json::json!(outlier.unix_ns as i64));
            data.insert("probe".into(), outlier.probe.clone().into());
            data.insert("threshold".into(), outlier.threshold.into());
            for (name, value) in outlier.columns.iter().filter(|(_, value)| !matches!(value, Value::Stack { .. })) {
                data.insert(name.clone(), json_value(value));
            }
            data.insert("kstack".into(), frames.into());
            writeln!(self.out, "{}", json_line(&serde_json::json!({ "type": "outlier", "data": data })))?;
            return self.out.flush();
        }
        let mut line = format!("{time} {}", outlier.probe);
        for (name, value) in outlier.columns.iter().filter(|(name, _)| name != "dur") {
            let shown = match value {
                Value::Stack { .. } => continue,
                Value::Unsigned(tid) if name == "tid" && outlier.column("pid") == Some(&Value::Unsigned(*tid)) => {
                    continue
                }
                value => value_text(value),
            };
            line.push_str(&format!(" {name}={shown}"));
        }
        if let Some(Value::Duration(ns)) = outlier.column("dur") {
            line.push_str(&format!(" dur={}", format_duration(*ns as i64)));
        }
        for frame in &frames {
            line.push_str(&format!("\n    {frame}"));
        }
        let text = format!("{line}\n");
        match self.format {
            OutputFormat::Folded => eprint!("{text}"),
            _ => self.out.write_all(text.as_bytes())?,
        }
        self.out.flush()
    }

    pub(super) fn map(&mut self, snapshot: &Snapshot) -> std::io::Result<()> {
        match self.format {
            OutputFormat::Text => write!(self.out, "{}", render_text(snapshot, self.symbols)),
            OutputFormat::Json => writeln!(self.out, "{}", json_line(&render_json(snapshot, self.symbols))),
            OutputFormat::Folded if snapshot.has_stacks() => {
                write!(self.out, "{}", render_folded(snapshot, self.symbols))
            }
            OutputFormat::Folded => {
                eprint!("{}\n\n", render_text(snapshot, self.symbols).trim_end());
                Ok(())
            }
        }
    }

    /// bpftrace's `{"type": "attached_probes", "count": N, "data": {"probes": N}}` in JSON; nothing otherwise.
    pub(super) fn attached_probes(&mut self, probes: usize) -> std::io::Result<()> {
        if self.format == OutputFormat::Json {
            let record =
                serde_json::json!({ "type": "attached_probes", "count": probes, "data": { "probes": probes } });
            writeln!(self.out, "{}", json_line(&record))?;
            self.out.flush()?;
        }
        Ok(())
    }

    /// bpftrace's `Attached N probes` line on stderr, in every format (in JSON it never mixes with the stream on
    /// stdout), to the byte and in one write: `eprintln!` writes its pieces one by one, and another process
    /// writing the same terminal or pipe meanwhile cut it in two.
    pub(super) fn attached_line(&mut self, probes: usize) -> std::io::Result<()> {
        self.out.flush()?;
        let line = format!("Attached {probes} probe{}\n", if probes == 1 { "" } else { "s" });
        std::io::stderr().write_all(line.as_bytes())
    }

    /// One benchmark's result, `index` of `names`, in bpftrace's layout: a table whose header comes with the
    /// first row (names padded to the longest, at least 40 columns), or one `benchmark_result` JSON record.
    pub(super) fn benchmark(&mut self, names: &[&str], index: usize, measured: Measured) -> std::io::Result<()> {
        let name = names[index];
        if self.format == OutputFormat::Json {
            let result = serde_json::json!({ "average": measured.mean_ns, "iters": measured.iterations });
            let record = serde_json::json!({ "type": "benchmark_result", "data": { name: result } });
            writeln!(self.out, "{}", json_line(&record))?;
        } else {
            let width = names.iter().map(|name| name.len()).max().unwrap_or(0).max(40) + 1;
            if index == 0 {
                writeln!(self.out, "{:<width$}{:<15}Iterations", "Benchmark", "Time(ns)")?;
                writeln!(self.out, "{}", "-".repeat(width + 15 + "Iterations".len()))?;
            }
            writeln!(self.out, "{name:<width$}{:<15}{}", measured.mean_ns, measured.iterations)?;
        }
        self.out.flush()
    }

    /// What bpftrace prints when tracing ends, before the maps: two newlines in text, nothing in JSON.
    pub(super) fn end_of_tracing(&mut self) -> std::io::Result<()> {
        if self.format == OutputFormat::Text {
            self.out.write_all(b"\n\n")?;
        }
        Ok(())
    }

    /// Reports lost data when any counter is non-zero, as bpftrace reports lost events only when there are
    /// some: on stderr for text, as one `lost` object with every counter for JSON. A run that lost nothing
    /// prints exactly what bpftrace would.
    pub(super) fn lost(&mut self, lost: &[(Stat, u64)]) -> std::io::Result<()> {
        if lost.iter().all(|(_, count)| *count == 0) {
            return Ok(());
        }
        match self.format {
            OutputFormat::Text | OutputFormat::Folded => {
                for (stat, count) in lost.iter().filter(|(_, count)| *count > 0) {
                    eprintln!("jl: warning: {count} {}", stat.describe());
                }
                Ok(())
            }
            OutputFormat::Json => {
                let data: serde_json::Map<String, serde_json::Value> =
                    lost.iter().map(|(stat, count)| (stat.key().to_string(), (*count).into())).collect();
                writeln!(self.out, "{}", json_line(&serde_json::json!({ "type": "lost", "data": data })))
            }
        }
    }
}

/// How outlier reports show their time: local, to the microsecond.
const OUTLIER_TIME_FORMAT: &str = "%H:%M:%S.%f";

/// A value as text: integers in decimal, pointers in hex, durations with their unit (`1.5ms`), buffers escaped as `%r` does.
pub(super) fn value_text(value: &Value) -> String {
    match value {
        Value::Unsigned(value) => value.to_string(),
        Value::Address(value) => format!("{value:#x}"),
        Value::Signed(value) => value.to_string(),
        Value::Bool(value) => value.to_string(),
        Value::Enum { value, names } => names.text(*value),
        Value::Duration(ns) => format_duration(*ns as i64),
        Value::Text(text) => text.clone(),
        Value::Bytes(bytes) => format_buf(bytes),
        Value::Stack { kind, raw } => kind.split(*raw).1.to_string(),
        Value::Tuple(elements) => {
            let texts: Vec<String> = elements.iter().map(value_text).collect();
            format!("({})", texts.join(", "))
        }
        Value::Record(fields) => {
            let texts: Vec<String> =
                fields.iter().map(|(name, value)| format!(".{name} = {}", value_text(value))).collect();
            format!("{{ {} }}", texts.join(", "))
        }
        Value::Array(elements) => {
            let texts: Vec<String> = elements.iter().map(value_text).collect();
            format!("[{}]", texts.join(","))
        }
    }
}

fn json_value(value: &Value) -> serde_json::Value {
    match value {
        Value::Unsigned(value) | Value::Duration(value) | Value::Address(value) => (*value).into(),
        Value::Signed(value) | Value::Enum { value, .. } => (*value).into(),
        Value::Bool(value) => (*value).into(),
        Value::Text(text) => text.clone().into(),
        Value::Bytes(bytes) => format_buf(bytes).into(),
        Value::Stack { kind, raw } => kind.split(*raw).1.into(),
        Value::Tuple(elements) | Value::Array(elements) => elements.iter().map(json_value).collect(),
        Value::Record(fields) => fields
            .iter()
            .map(|(name, value)| (name.to_string(), json_value(value)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

/// `HH:MM:SS` (UTC) of a Unix time.
fn format_clock(unix_seconds: u64) -> String {
    let day = unix_seconds % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

/// The name the system's user database (`getpwuid_r(3)`: /etc/passwd, or NSS) gives user `uid`, if any.
fn user_name(uid: u32) -> Option<String> {
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: passwd is plain data (integers and pointers); all zeros is a valid value.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found = std::ptr::null_mut();
    // SAFETY: every pointer is to a live local of the size given; getpwuid_r writes only within them.
    let status = unsafe { libc::getpwuid_r(uid, &mut entry, buffer.as_mut_ptr(), buffer.len(), &mut found) };
    if status != 0 || found.is_null() || entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points to a NUL-terminated string inside `buffer`, which is still alive.
    Some(unsafe { std::ffi::CStr::from_ptr(entry.pw_name) }.to_string_lossy().into_owned())
}
