//! tracefs: finding (and if needed mounting) it, listing tracepoints and parsing their `format` files.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::KernelError;

/// Where tracefs is mounted on current kernels.
const TRACEFS: &str = "/sys/kernel/tracing";
/// Where it appears on older kernels, inside debugfs.
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// The layout of one tracepoint's record, as described by its tracefs `format` file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracepointFormat {
    /// Category (subsystem directory), e.g. `timer`.
    pub category: String,
    /// Event name, e.g. `timer_expire_entry`.
    pub name: String,
    /// Event id (the `ID:` line), used by perf_event_open.
    pub id: u32,
    /// All fields in record order, the `common_*` ones first.
    pub fields: Vec<TracepointField>,
    /// Whether the event is a dynamic event (a kprobe, uprobe, eprobe or synthetic event that someone created in
    /// tracefs, listed in its `dynamic_events` file): such an event has no raw tracepoint of its name.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dynamic: bool,
    /// The flag names its `print fmt` gives fields (`__print_flags(REC->gfp_flags, ...)`): the masks of this
    /// kernel's build, for printf's `%gr`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub print_flags: Vec<super::PrintFlags>,
}

impl TracepointFormat {
    /// The event-specific (non-`common_*`) field called `name`.
    pub fn field(&self, name: &str) -> Option<&TracepointField> {
        self.fields.iter().find(|field| !field.common && field.name == name)
    }
}

/// One field of a tracepoint record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracepointField {
    /// Field name, e.g. `prev_comm`.
    pub name: String,
    /// C type without the name; for arrays and `__data_loc` fields the element type (`char` for
    /// `char comm[16]` and for `__data_loc char[] name`), otherwise as written (`void *`, `const char *`).
    pub c_type: String,
    /// Byte offset in the record.
    pub offset: u32,
    /// Size in bytes (for `__data_loc` fields: 4, the size of the offset/length word).
    pub size: u32,
    /// Whether the kernel reports the type as signed.
    pub signed: bool,
    /// Whether this is one of the `common_*` fields every record starts with.
    pub common: bool,
    /// Element count of a fixed-size array field (`16` for `char comm[16]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array_len: Option<u32>,
    /// Whether the field is a `__data_loc` (or `__rel_loc`) word pointing at variable-length data.
    pub data_loc: bool,
}

/// Finds tracefs, mounting it at `/sys/kernel/tracing` when it is not mounted anywhere.
///
/// Returns the directory holding `events/`.
pub fn ensure_tracefs() -> Result<PathBuf, KernelError> {
    if let Some(found) = find_tracefs() {
        return Ok(found);
    }
    mount_tracefs()?;
    find_tracefs().ok_or_else(|| KernelError::Tracefs {
        reason: format!("mounted tracefs at {TRACEFS} but it has no events directory"),
    })
}

/// Where tracefs is mounted (the directory holding `events/`), if it is.
pub(crate) fn find_tracefs() -> Option<PathBuf> {
    [TRACEFS, DEBUGFS_TRACING].iter().map(PathBuf::from).find(|dir| dir.join("events").is_dir())
}

fn mount_tracefs() -> Result<(), KernelError> {
    let to_c = |text: &str| CString::new(text).map_err(|_| KernelError::Tracefs { reason: "bad path".into() });
    let (source, target, fstype) = (to_c("nodev")?, to_c(TRACEFS)?, to_c("tracefs")?);
    // SAFETY: every pointer is a valid NUL-terminated string that outlives the call; data may be null.
    let rc = unsafe { libc::mount(source.as_ptr(), target.as_ptr(), fstype.as_ptr(), 0, std::ptr::null()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(KernelError::Tracefs {
            reason: format!("not mounted, and mounting it at {TRACEFS} failed: {}", std::io::Error::last_os_error()),
        })
    }
}

/// Reads and parses the format of `category:name` under the tracefs directory `tracefs`.
pub(crate) fn read_format(
    tracefs: &Path,
    category: &str,
    name: &str,
    dynamic_events: &str,
) -> Result<TracepointFormat, KernelError> {
    let not_found = || KernelError::TracepointNotFound { category: category.to_string(), name: name.to_string() };
    if !is_plain_component(category) || !is_plain_component(name) {
        return Err(not_found());
    }
    let path = tracefs.join("events").join(category).join(name).join("format");
    let mut format = match std::fs::read_to_string(&path) {
        Ok(text) => parse_format(category, name, &text)?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
        Err(error) => return Err(KernelError::io(path, error)),
    };
    format.dynamic = lists_dynamic_event(dynamic_events, category, name);
    Ok(format)
}

/// The text of tracefs's `dynamic_events` (empty on a kernel without dynamic events, or a tracefs that hides it).
pub(crate) fn read_dynamic_events(tracefs: &Path) -> String {
    std::fs::read_to_string(tracefs.join("dynamic_events")).unwrap_or_default()
}

/// Whether the text of tracefs's `dynamic_events` lists `category/name`: each line is a definition such as
/// `p:kprobes/myopen do_sys_openat2` or `s:synthetic/wakeup_latency u64 lat`.
fn lists_dynamic_event(dynamic_events: &str, category: &str, name: &str) -> bool {
    dynamic_events.lines().filter_map(|line| line.split_whitespace().next()).any(|definition| {
        definition.split_once(':').and_then(|(_, event)| event.split_once('/')) == Some((category, name))
    })
}

/// Whether `text` names one directory entry (no separators, not `.`/`..`), so it cannot escape `events/`.
fn is_plain_component(text: &str) -> bool {
    !text.is_empty() && text != "." && text != ".." && !text.contains('/')
}

/// Every tracepoint under the tracefs directory `tracefs` as `(category, name)`, sorted.
pub(crate) fn list_tracepoints(tracefs: &Path) -> Result<Vec<(String, String)>, KernelError> {
    let events = tracefs.join("events");
    let mut found = Vec::new();
    for category in subdirectories(&events)? {
        let category_dir = events.join(&category);
        for name in subdirectories(&category_dir)? {
            found.push((category.clone(), name));
        }
    }
    found.sort();
    Ok(found)
}

fn subdirectories(dir: &Path) -> Result<Vec<String>, KernelError> {
    let entries = std::fs::read_dir(dir).map_err(|error| KernelError::io(dir, error))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| KernelError::io(dir, error))?;
        let is_dir = entry.file_type().map(|kind| kind.is_dir()).unwrap_or(false);
        if let (true, Ok(name)) = (is_dir, entry.file_name().into_string()) {
            names.push(name);
        }
    }
    Ok(names)
}

/// Parses the text of a tracefs `format` file.
pub fn parse_format(category: &str, name: &str, text: &str) -> Result<TracepointFormat, KernelError> {
    let fail = |reason: String| KernelError::TracepointFormat {
        category: category.to_string(),
        name: name.to_string(),
        reason,
    };
    let mut id = None;
    let (mut fields, mut print_flags) = (Vec::new(), Vec::new());
    for line in text.lines().map(str::trim) {
        if let Some(value) = line.strip_prefix("ID:") {
            let value = value.trim();
            id = Some(value.parse().map_err(|_| fail(format!("bad ID `{value}`")))?);
        } else if line.starts_with("field:") {
            fields.push(parse_field(line).map_err(|reason| fail(format!("{reason} in `{line}`")))?);
        } else if let Some(print_fmt) = line.strip_prefix("print fmt:") {
            print_flags = super::print_flags::parse(print_fmt);
        }
    }
    Ok(TracepointFormat {
        category: category.to_string(),
        name: name.to_string(),
        id: id.ok_or_else(|| fail("no ID line".to_string()))?,
        fields,
        dynamic: false,
        print_flags,
    })
}

/// Parses `field:TYPE NAME;\toffset:N;\tsize:N;\tsigned:N;`.
fn parse_field(line: &str) -> Result<TracepointField, String> {
    let mut declaration = None;
    let (mut offset, mut size, mut signed) = (None, None, false);
    for part in line.split(';').map(str::trim).filter(|part| !part.is_empty()) {
        let (key, value) = part.split_once(':').ok_or_else(|| format!("no `:` in `{part}`"))?;
        let number = || value.trim().parse::<u32>().map_err(|_| format!("bad {key} `{value}`"));
        match key {
            "field" => declaration = Some(value.trim()),
            "offset" => offset = Some(number()?),
            "size" => size = Some(number()?),
            "signed" => signed = number()? != 0,
            _ => {}
        }
    }
    let declaration = declaration.ok_or("no declaration")?;
    let (data_loc, declaration) =
        match ["__data_loc ", "__rel_loc "].iter().find_map(|prefix| declaration.strip_prefix(prefix)) {
            Some(rest) => (true, rest.trim()),
            None => (false, declaration),
        };
    let (declaration, array_len) = split_array_suffix(declaration)?;
    let name_start = declaration.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |at| at + 1);
    let name = &declaration[name_start..];
    let mut c_type = declaration[..name_start].trim();
    if data_loc {
        c_type = c_type.strip_suffix("[]").unwrap_or(c_type).trim();
    }
    if name.is_empty() || c_type.is_empty() {
        return Err("cannot split type and name".to_string());
    }
    Ok(TracepointField {
        common: name.starts_with("common_"),
        name: name.to_string(),
        c_type: c_type.to_string(),
        offset: offset.ok_or("no offset")?,
        size: size.ok_or("no size")?,
        signed,
        array_len,
        data_loc,
    })
}

/// Splits `char comm[16]` into `char comm` and `Some(16)`.
fn split_array_suffix(declaration: &str) -> Result<(&str, Option<u32>), String> {
    let Some(inner) = declaration.strip_suffix(']') else {
        return Ok((declaration, None));
    };
    let open = inner.rfind('[').ok_or("unbalanced `]`")?;
    let length = inner[open + 1..].trim();
    let length = length.parse().map_err(|_| format!("bad array length `{length}`"))?;
    Ok((inner[..open].trim_end(), Some(length)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_events_are_found_in_any_group() {
        let listed = "p:kprobes/myopen do_sys_openat2\np:mine/close_fd close_fd fd=%di\ns:synthetic/lat u64 lat\n";
        assert!(lists_dynamic_event(listed, "kprobes", "myopen"));
        assert!(lists_dynamic_event(listed, "mine", "close_fd"));
        assert!(lists_dynamic_event(listed, "synthetic", "lat"));
        assert!(!lists_dynamic_event(listed, "mine", "myopen"));
        assert!(!lists_dynamic_event(listed, "sched", "sched_switch"));
        assert!(!lists_dynamic_event("", "kprobes", "myopen"));
    }

    // Copied from /sys/kernel/tracing/events/*/*/format on Linux 6.18.
    const TIMER_EXPIRE_ENTRY: &str = "name: timer_expire_entry
ID: 465
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:void * timer;\toffset:8;\tsize:8;\tsigned:0;
\tfield:unsigned long now;\toffset:16;\tsize:8;\tsigned:0;
\tfield:void * function;\toffset:24;\tsize:8;\tsigned:0;
\tfield:unsigned long baseclk;\toffset:32;\tsize:8;\tsigned:0;

print fmt: \"timer=%p function=%ps now=%lu baseclk=%lu\", REC->timer, REC->function, REC->now, REC->baseclk
";

    const SCHED_SWITCH: &str = "name: sched_switch
ID: 372
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;
\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;
\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;
\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;
\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;

print fmt: \"prev_comm=%s prev_pid=%d\", REC->prev_comm, REC->prev_pid
";

    const NETIF_RECEIVE_SKB: &str = "name: netif_receive_skb
ID: 2303
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:void * skbaddr;\toffset:8;\tsize:8;\tsigned:0;
\tfield:unsigned int len;\toffset:16;\tsize:4;\tsigned:0;
\tfield:__data_loc char[] name;\toffset:20;\tsize:4;\tsigned:0;

print fmt: \"dev=%s skbaddr=%p len=%u\", __get_str(name), REC->skbaddr, REC->len
";

    const SYS_ENTER_OPENAT: &str = "name: sys_enter_openat
ID: 782
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;

print fmt: \"dfd: 0x%08lx, filename: 0x%08lx\", ((unsigned long)(REC->dfd)), ((unsigned long)(REC->filename))
";

    #[test]
    fn parses_pointer_fields_and_common_fields() {
        let format = parse_format("timer", "timer_expire_entry", TIMER_EXPIRE_ENTRY).unwrap();
        assert_eq!(format.id, 465);
        assert_eq!(format.fields.len(), 8);
        assert!(format.fields[..4].iter().all(|field| field.common));
        assert_eq!(format.fields[3].name, "common_pid");
        assert!(format.fields[3].signed);
        let function = format.field("function").unwrap();
        assert_eq!(function.c_type, "void *");
        assert_eq!((function.offset, function.size, function.signed), (24, 8, false));
        assert_eq!((function.array_len, function.data_loc, function.common), (None, false, false));
        assert_eq!(format.field("now").unwrap().c_type, "unsigned long");
        assert!(format.field("common_pid").is_none(), "field() skips common fields");
    }

    #[test]
    fn parses_fixed_arrays() {
        let format = parse_format("sched", "sched_switch", SCHED_SWITCH).unwrap();
        let comm = format.field("next_comm").unwrap();
        assert_eq!(comm.c_type, "char");
        assert_eq!(comm.array_len, Some(16));
        assert_eq!((comm.offset, comm.size), (40, 16));
        let pid = format.field("prev_pid").unwrap();
        assert_eq!((pid.c_type.as_str(), pid.signed, pid.array_len), ("pid_t", true, None));
    }

    #[test]
    fn parses_data_loc_strings() {
        let format = parse_format("net", "netif_receive_skb", NETIF_RECEIVE_SKB).unwrap();
        let name = format.field("name").unwrap();
        assert!(name.data_loc);
        assert_eq!(name.c_type, "char");
        assert_eq!((name.offset, name.size, name.array_len), (20, 4, None));
        assert_eq!(format.field("skbaddr").unwrap().c_type, "void *");
    }

    #[test]
    fn parses_const_pointers() {
        let format = parse_format("syscalls", "sys_enter_openat", SYS_ENTER_OPENAT).unwrap();
        let filename = format.field("filename").unwrap();
        assert_eq!(filename.c_type, "const char *");
        assert_eq!((filename.offset, filename.size), (24, 8));
        assert_eq!(format.field("__syscall_nr").unwrap().offset, 8);
        assert_eq!(format.field("mode").unwrap().c_type, "umode_t");
    }

    #[test]
    fn accepts_pointer_without_space_before_name() {
        let field = parse_field("field:struct sk_buff *skb;\toffset:8;\tsize:8;\tsigned:0;").unwrap();
        assert_eq!((field.name.as_str(), field.c_type.as_str()), ("skb", "struct sk_buff *"));
    }

    #[test]
    fn reports_malformed_formats() {
        let no_id = "name: x\nformat:\n\tfield:int a;\toffset:8;\tsize:4;\tsigned:1;\n";
        assert!(matches!(parse_format("c", "x", no_id), Err(KernelError::TracepointFormat { .. })));
        let bad_offset = "ID: 3\n\tfield:int a;\toffset:x;\tsize:4;\tsigned:1;\n";
        let error = parse_format("c", "x", bad_offset).unwrap_err().to_string();
        assert!(error.contains("bad offset `x`"), "{error}");
        let no_size = "ID: 3\n\tfield:int a;\toffset:8;\n";
        assert!(parse_format("c", "x", no_size).is_err());
        let no_name = "ID: 3\n\tfield:int;\toffset:8;\tsize:4;\n";
        assert!(parse_format("c", "x", no_name).is_err());
        let bad_array = "ID: 3\n\tfield:char a[N];\toffset:8;\tsize:4;\n";
        assert!(parse_format("c", "x", bad_array).is_err());
    }

    #[test]
    fn rejects_path_escapes() {
        let error = read_format(Path::new("/nonexistent"), "..", "format", "").unwrap_err();
        assert!(matches!(error, KernelError::TracepointNotFound { .. }));
        let error = read_format(Path::new("/nonexistent"), "sched", "a/b", "").unwrap_err();
        assert!(matches!(error, KernelError::TracepointNotFound { .. }));
    }
}
