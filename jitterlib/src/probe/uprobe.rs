//! `uprobe:BINARY:FUNCTION` and `uretprobe:BINARY:FUNCTION`: the entry and the return of a function of a
//! user-space program or library, in every process that runs it. The binary is a path, a program on `PATH` or a
//! library's short name (`libc`); the function a symbol (wildcards expand to one probe per match) or a virtual
//! address `0xADDRESS`. Arguments are the raw x86-64 argument registers, as bpftrace gives them.

use super::kprobe::{ARG_REGISTERS, RETURN_REGISTER};
use super::{
    btf_args, nearest, path_parts, store_text, Field, FieldSource, FieldType, Probe, ProbeError, ProbeErrorKind,
    ProbeKind, ProbeSpec,
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
    resolve: |spec, kernel| resolve(spec, kernel, false),
};

/// Registry entry for `uretprobe`.
pub(super) static URETPROBE: ProbeKind = ProbeKind {
    name: "uretprobe",
    aliases: &["ur"],
    syntax: "uretprobe:BINARY:FUNCTION",
    about: "return of a user-space function",
    fields: &[("retval", "the return value register, unsigned 64-bit"), ("func", "the function's name")],
    resolve: |spec, kernel| resolve(spec, kernel, true),
};

/// Size of the `func` field: longer names are cut.
const FUNC_SIZE: u32 = 64;

/// A probe on a user-space function's entry or return.
#[derive(Debug)]
struct UserProbe {
    binary: String,
    symbol: String,
    offset: u64,
    ret: bool,
    fields: Vec<Field>,
}

fn resolve(spec: &ProbeSpec, _kernel: &dyn KernelInfo, ret: bool) -> Result<Box<dyn Probe>, ProbeError> {
    let kind = if ret { &URETPROBE } else { &UPROBE };
    let parts = path_parts(spec, kind.name, 3, kind.syntax)?;
    let binary = open(&parts[1])?;
    let symbol = &parts[2];
    let offset = match symbol.strip_prefix("0x") {
        Some(hex) => address_offset(&binary, hex)?,
        None => match binary.function(symbol) {
            Some(Function::Direct { offset }) => offset,
            Some(Function::Indirect { .. }) => return Err(indirect_function(&binary, symbol)),
            None => return Err(missing_function(&binary, symbol)),
        },
    };
    let func = Field { name: "func".into(), ty: FieldType::Str { size: FUNC_SIZE }, source: FieldSource::Computed };
    let slot = |index: usize| ARG_REGISTERS.get(index).copied();
    let mut fields =
        if ret { vec![btf_args::retval(RETURN_REGISTER)] } else { btf_args::raw_args(ARG_REGISTERS.len(), slot) };
    fields.push(func);
    let binary = binary.path().display().to_string();
    Ok(Box::new(UserProbe { binary, symbol: symbol.clone(), offset, ret, fields }))
}

/// The binary named in part 1 of a uprobe path.
fn open(name: &str) -> Result<Binary, ProbeError> {
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
        Attach::Uprobe { binary: self.binary.clone(), symbol: self.symbol.clone(), offset: self.offset, ret: self.ret }
    }

    fn fields(&self) -> &[Field] {
        &self.fields
    }

    fn emit_computed(&self, b: &mut Builder, field: &str, offset: i16, size: u32) {
        if field == "func" {
            for i in 0..(size / 8) as i16 {
                b.store_imm(crate::insn::Size::DW, crate::insn::Reg::R10, offset + 8 * i, 0);
            }
            store_text(b, &self.symbol, offset, size);
        }
    }

    fn user_space(&self) -> bool {
        true
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
