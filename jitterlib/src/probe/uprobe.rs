//! `uprobe:BINARY:FUNCTION` and `uretprobe:BINARY:FUNCTION`: the entry and the return of a function of a
//! user-space program or library, in every process that runs it. The binary is a path, a program on `PATH` or a
//! library's short name (`libc`); the function a symbol (wildcards expand to one probe per match), a symbol and
//! a byte offset into it (`FUNCTION+OFFSET`) or a virtual address `0xADDRESS`. Arguments are the raw x86-64 argument registers, as bpftrace gives them.

use super::kprobe::{ARG_REGISTERS, RETURN_REGISTER};
use super::{
    btf_args, nearest, path_parts, Field, FieldSource, FieldType, Probe, ProbeError, ProbeErrorKind, ProbeKind,
    ProbeSpec,
};
use crate::insn::Builder;
use crate::kernel::KernelInfo;
use crate::session::Attach;
use crate::usym::{Binary, BinaryError, Function};

/// Registry entry for `uprobe`.
pub(super) static UPROBE: ProbeKind = ProbeKind {
    name: "uprobe",
    aliases: &["u"],
    syntax: "uprobe:BINARY:FUNCTION",
    about: "entry of a user-space function (BINARY: a path, a program on PATH or a library such as libc)",
    fields: &[
        ("arg0..arg5", "the raw 64-bit argument registers (str(arg0) reads a string of the process)"),
        ("func", "the function's name"),
    ],
    targets: None,
    resolve: |spec, kernel| resolve(spec, kernel, false),
};

/// Registry entry for `uretprobe`.
pub(super) static URETPROBE: ProbeKind = ProbeKind {
    name: "uretprobe",
    aliases: &["ur"],
    syntax: "uretprobe:BINARY:FUNCTION",
    about: "return of a user-space function",
    fields: &[("retval", "the return value register, unsigned 64-bit"), ("func", "the function's name")],
    targets: None,
    resolve: |spec, kernel| resolve(spec, kernel, true),
};

/// Size of the `func` field: longer names are cut.
const FUNC_SIZE: u32 = 64;

/// A probe on a user-space function's entry or return.
#[derive(Debug)]
struct UserProbe {
    binary: String,
    /// The function or address as written (`readline`, `readline+4`, `0x4011a6`).
    symbol: String,
    /// The function's name (`func`): the symbol without its offset, or the function an address falls in.
    function: String,
    /// Bytes from the function's start to the probe (`None`: an address in no known function).
    within: Option<u64>,
    offset: u64,
    ret: bool,
    fields: Vec<Field>,
}

fn resolve(spec: &ProbeSpec, _kernel: &dyn KernelInfo, ret: bool) -> Result<Box<dyn Probe>, ProbeError> {
    let kind = if ret { &URETPROBE } else { &UPROBE };
    let parts = path_parts(spec, kind.name, 3, kind.syntax)?;
    let binary = open(&parts[1])?;
    let symbol = &parts[2];
    let (function, offset, within) = match symbol.strip_prefix("0x") {
        Some(hex) => {
            let offset = address_offset(&binary, hex)?;
            match binary.function_at(offset) {
                Some((name, within)) => (name.to_string(), offset, Some(within)),
                None => (symbol.clone(), offset, None),
            }
        }
        None => function_offset(&binary, symbol, ret)?,
    };
    let func = Field { name: "func".into(), ty: FieldType::Str { size: FUNC_SIZE }, source: FieldSource::Computed };
    let slot = |index: usize| ARG_REGISTERS.get(index).copied();
    let mut fields =
        if ret { vec![btf_args::retval(RETURN_REGISTER)] } else { btf_args::raw_args(ARG_REGISTERS.len(), slot) };
    fields.push(func);
    let binary = binary.path().display().to_string();
    Ok(Box::new(UserProbe { binary, symbol: symbol.clone(), function, offset, within, ret, fields }))
}

/// The function named by `FUNCTION` or `FUNCTION+OFFSET` (decimal or `0x` hex bytes into it, entry probes only),
/// the file offset to probe and the bytes from the function's start.
fn function_offset(binary: &Binary, symbol: &str, ret: bool) -> Result<(String, u64, Option<u64>), ProbeError> {
    let (name, within) = match symbol.split_once('+') {
        Some((name, within)) => {
            let parsed = match within.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => within.parse().ok(),
            };
            let bad = |message: String| ProbeError::new(ProbeErrorKind::BadSpec, message).at(2);
            let within = parsed.ok_or_else(|| bad(format!("`{within}` is not a byte offset (decimal or 0x hex)")))?;
            if ret {
                return Err(bad("a `uretprobe` fires at a function's return: it takes no offset".into())
                    .with_hint(format!("write `uretprobe:{}:{name}`", binary.path().display())));
            }
            (name, within)
        }
        None => (symbol, 0),
    };
    match binary.function(name) {
        Some(Function::Direct { offset, size }) if within < size => {
            Ok((name.to_string(), offset + within, Some(within)))
        }
        Some(Function::Direct { size, .. }) => Err(ProbeError::new(
            ProbeErrorKind::BadSpec,
            format!("offset {within} is past the end of `{name}`, which is {size} bytes long"),
        )
        .at(2)),
        Some(Function::Indirect { .. }) => Err(indirect_function(binary, name)),
        None => Err(missing_function(binary, name)),
    }
}

/// The binary named in part 1 of a uprobe (or usdt) path.
pub(super) fn open(name: &str) -> Result<Binary, ProbeError> {
    Binary::open(name).map_err(|error| {
        let hint = match &error {
            BinaryError::NotFound { searched: true, .. } => {
                "give its path (`uprobe:/usr/bin/NAME:FUNCTION`), or a library's name as the dynamic linker knows it \
                 (`libc`, `libssl.so.3`)"
            }
            BinaryError::NotFound { searched: false, .. } => "check the path; `which NAME` finds a program on PATH",
            BinaryError::NotElf { .. } => "uprobes attach to ELF executables and shared libraries",
        };
        ProbeError::new(ProbeErrorKind::MissingTarget, error.to_string()).with_hint(hint).at(1)
    })
}

/// The file offset of the virtual address `0xHEX` of `binary`.
fn address_offset(binary: &Binary, hex: &str) -> Result<u64, ProbeError> {
    let address = u64::from_str_radix(hex, 16).map_err(|_| {
        ProbeError::new(ProbeErrorKind::BadSpec, format!("`0x{hex}` is not a hexadecimal address"))
            .with_hint("write a function's name or a virtual address such as 0x4011a6 (`objdump -d` prints them)")
            .at(2)
    })?;
    binary.address_offset(address).ok_or_else(|| {
        ProbeError::new(
            ProbeErrorKind::MissingTarget,
            format!("no loadable segment of `{}` holds address 0x{address:x}", binary.path().display()),
        )
        .with_hint("addresses are virtual addresses as `objdump -d` prints them, not file offsets")
        .at(2)
    })
}

/// The error for a function `binary` has no symbol for: the nearest name, and whether the file is stripped.
fn missing_function(binary: &Binary, function: &str) -> ProbeError {
    let path = binary.path().display();
    let near = near_names(binary, function);
    let mut hint = match nearest(function, &near) {
        Some(name) => format!("did you mean `{name}`? "),
        None => String::new(),
    };
    if binary.is_stripped() {
        hint.push_str(&format!(
            "`{path}` is stripped: only the functions it exports are known (`jl -l 'uprobe:{path}:*'` lists them); \
             probe others by address, `uprobe:{path}:0xADDRESS`"
        ));
    } else {
        hint.push_str(&format!("`jl -l 'uprobe:{path}:*'` lists its functions"));
    }
    ProbeError::new(ProbeErrorKind::MissingTarget, format!("`{path}` has no function `{function}`"))
        .with_hint(hint)
        .at(2)
}

/// The error for an indirect function: a probe on its resolver would see no calls.
fn indirect_function(binary: &Binary, function: &str) -> ProbeError {
    let path = binary.path().display();
    ProbeError::new(
        ProbeErrorKind::BadSpec,
        format!(
            "`{function}` of `{path}` is an indirect function (IFUNC): its code only picks, once at load time, the \
             implementation calls go to, so a probe there would see no calls"
        ),
    )
    .with_hint(if binary.is_stripped() {
        format!(
            "`{path}` is stripped, so its implementations of `{function}` have no symbols here: probe one by \
             address, `uprobe:{path}:0xADDRESS`"
        )
    } else {
        format!("probe the implementation that runs: `jl -l 'uprobe:{path}:*{function}*'` lists the candidates")
    })
    .at(2)
}

/// The functions of `binary` whose names are about as long as `word` (the only ones [`nearest`] may pick):
/// a large binary has hundreds of thousands.
fn near_names<'b>(binary: &'b Binary, word: &str) -> Vec<&'b str> {
    let slack = word.len() / 3 + 1;
    binary.functions().filter(|name| name.len().abs_diff(word.len()) <= slack).collect()
}

/// The path of the binary `name` and its functions whose names match `pattern` (`*` and `?`), sorted: what a
/// wildcard uprobe path stands for, and what `jl -l 'uprobe:BINARY:PATTERN'` lists.
///
/// ```no_run
/// let (path, names) = jitterlib::probe::user_functions("libc", "malloc*")?;
/// # Ok::<(), jitterlib::probe::ProbeError>(())
/// ```
pub fn user_functions(name: &str, pattern: &str) -> Result<(String, Vec<String>), ProbeError> {
    let binary = open(name)?;
    let functions = binary.functions().filter(|function| super::glob(pattern, function)).map(String::from).collect();
    Ok((binary.path().display().to_string(), functions))
}

impl Probe for UserProbe {
    fn describe(&self) -> String {
        format!("{}:{}:{}", if self.ret { "uretprobe" } else { "uprobe" }, self.binary, self.symbol)
    }

    fn attach(&self) -> Attach {
        Attach::Uprobe {
            binary: self.binary.clone(),
            symbol: self.symbol.clone(),
            offset: self.offset,
            ret: self.ret,
            semaphore: None,
        }
    }

    fn fields(&self) -> &[Field] {
        &self.fields
    }

    fn emit_computed(&self, b: &mut Builder, _point: usize, field: &str, offset: i16, size: u32) {
        if field == "func" {
            super::emit_text(b, &self.function, offset, size);
        }
    }

    fn user_space(&self) -> bool {
        true
    }

    fn unsafe_reason(&self) -> Option<String> {
        let place = match self.within {
            Some(0) => return None,
            Some(within) => format!("{within} bytes into `{}`", self.function),
            None => "in no known function".to_string(),
        };
        Some(format!(
            "`{}` is {place}: jl cannot check that it is an instruction's start, and a uprobe inside an instruction \
             corrupts the program",
            self.symbol
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::FixtureKernel;

    fn path(text: &str) -> ProbeSpec {
        ProbeSpec::Path(text.split(':').map(str::to_string).collect())
    }

    fn exe() -> String {
        std::fs::read_link("/proc/self/exe").expect("exe").display().to_string()
    }

    #[test]
    fn resolves_a_function_to_its_file_offset() {
        let probe = super::super::resolve(&path(&format!("uprobe:{}:main", exe())), &FixtureKernel::bundled())
            .expect("resolves");
        let Attach::Uprobe { offset, ret: false, symbol, .. } = probe.attach() else { panic!("{:?}", probe.attach()) };
        assert_eq!(symbol, "main");
        assert!(offset > 0);
        let names: Vec<&str> = probe.fields().iter().map(|field| field.name.as_str()).collect();
        assert_eq!(names, ["arg0", "arg1", "arg2", "arg3", "arg4", "arg5", "func"]);
    }

    #[test]
    fn return_probes_offer_retval() {
        let probe =
            super::super::resolve(&path(&format!("ur:{}:main", exe())), &FixtureKernel::bundled()).expect("resolves");
        assert_eq!(probe.describe(), format!("uretprobe:{}:main", exe()));
        let names: Vec<&str> = probe.fields().iter().map(|field| field.name.as_str()).collect();
        assert_eq!(names, ["retval", "func"]);
    }

    #[test]
    fn a_misspelt_function_gets_the_nearest_name() {
        let error = super::super::resolve(&path(&format!("uprobe:{}:mian", exe())), &FixtureKernel::bundled())
            .expect_err("no such function");
        assert_eq!(error.kind, ProbeErrorKind::MissingTarget);
        assert_eq!(error.position, Some(2));
        assert!(error.hint.as_deref().unwrap_or("").starts_with("did you mean `main`?"), "{error:?}");
    }

    #[test]
    fn bad_addresses_are_errors() {
        let kernel = FixtureKernel::bundled();
        let error = super::super::resolve(&path(&format!("uprobe:{}:0xzz", exe())), &kernel).expect_err("not hex");
        assert_eq!(error.kind, ProbeErrorKind::BadSpec);
        let error =
            super::super::resolve(&path(&format!("uprobe:{}:0xffffffffff00", exe())), &kernel).expect_err("no segment");
        assert_eq!(error.kind, ProbeErrorKind::MissingTarget);
    }
}
