//! `usdt:BINARY:PROVIDER:NAME` (and `usdt:BINARY:NAME` when one provider has that name): a static probe that
//! a user-space program or library declares with `<sys/sdt.h>` (`DTRACE_PROBE2(myapp, request, id, len)`),
//! in every process that runs it. The probe is a uprobe on each of its sites (the `nop`s its `stapsdt` notes
//! point at); `arg0..argN` are read as each site's notes say (a register, a constant or memory at a register
//! plus a displacement), with the size and signedness they declare.
//!
//! A probe with a semaphore, which the program tests (`if (PROVIDER_NAME_ENABLED())`) to skip preparing the
//! arguments when nothing traces it, has the kernel count the semaphore while jl is attached, in every process
//! that maps the binary (see `session/semaphore.rs`).

use super::usdt_args::{parse_args, Arg, Location, Register};
use super::{nearest, Field, FieldSource, FieldType, Point, Probe, ProbeError, ProbeErrorKind, ProbeKind, ProbeSpec};
use crate::insn::{AluOp, Builder, Helper, Reg, Size};
use crate::kernel::KernelInfo;
use crate::session::Attach;
use crate::usym::Binary;

/// Registry entry for `usdt`.
pub(super) static KIND: ProbeKind = ProbeKind {
    name: "usdt",
    aliases: &["U"],
    syntax: "usdt:BINARY:[PROVIDER:]NAME",
    about: "a static probe (USDT, <sys/sdt.h>) of a user-space program or library",
    fields: &[("arg0..argN", "the probe's arguments, signed or not and of the size the probe declares")],
    targets: None,
    resolve,
};

/// Program name suffixes of a probe's sites, one program each: a probe has at most this many.
const SITE_SUFFIXES: [&str; 32] = [
    "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15", "s16", "s17",
    "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25", "s26", "s27", "s28", "s29", "s30", "s31",
];

/// One place a USDT probe fires at.
#[derive(Debug)]
struct Site {
    /// The file offset of its `nop`.
    offset: u64,
    /// Its arguments, and their operands as the notes wrote them.
    args: Vec<(Arg, String)>,
}

/// A USDT probe: a uprobe on each of its sites.
#[derive(Debug)]
struct UsdtProbe {
    binary: String,
    provider: String,
    name: String,
    sites: Vec<Site>,
    /// The virtual address of the probe's semaphore, when it has one, and its file offset (`None` when no
    /// file bytes hold it).
    semaphore: Option<(u64, Option<u64>)>,
    fields: Vec<Field>,
    /// Which arguments the block reads: the prologue reads only those.
    read: Vec<bool>,
}

fn resolve(spec: &ProbeSpec, _kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    let (parts, provider) = match spec {
        ProbeSpec::Path(parts) if parts.len() == 4 => (parts, Some(&parts[2])),
        ProbeSpec::Path(parts) if parts.len() == 3 => (parts, None),
        _ => {
            return Err(ProbeError::new(
                ProbeErrorKind::BadSpec,
                format!("`usdt` probes are written `{}`", KIND.syntax),
            )
            .at(0))
        }
    };
    let binary = super::uprobe::open(&parts[1])?;
    let path = binary.path().display().to_string();
    if !binary.is_x86_64() {
        return Err(ProbeError::new(
            ProbeErrorKind::BadSpec,
            format!("`{path}` is not x86-64 code: jl reads USDT arguments of x86-64 programs only"),
        )
        .at(1));
    }
    let name = parts[parts.len() - 1].clone();
    let provider = match provider {
        Some(provider) => provider.clone(),
        None => only_provider(&binary, &name)?,
    };
    let notes: Vec<_> =
        binary.usdt_notes().iter().filter(|note| note.provider == provider && note.name == name).collect();
    if notes.is_empty() {
        return Err(missing_probe(&binary, &provider, &name, parts.len() - 1));
    }
    if notes.len() > SITE_SUFFIXES.len() {
        return Err(ProbeError::new(
            ProbeErrorKind::BadSpec,
            format!(
                "`{provider}:{name}` has {} sites, more than the {} jl attaches to",
                notes.len(),
                SITE_SUFFIXES.len()
            ),
        )
        .at(parts.len() - 1));
    }
    let sites = notes
        .iter()
        .map(|note| {
            let offset = binary.address_offset(note.address).ok_or_else(|| {
                ProbeError::new(
                    ProbeErrorKind::MissingTarget,
                    format!("no loadable segment of `{path}` holds `{provider}:{name}` at 0x{:x}", note.address),
                )
                .at(parts.len() - 1)
            })?;
            let args = parse_args(&note.args)
                .map_err(|operand| unreadable_operand(&provider, &name, &operand).at(parts.len() - 1))?;
            Ok(Site { offset, args: args.into_iter().zip(note.args.split_whitespace().map(String::from)).collect() })
        })
        .collect::<Result<Vec<Site>, ProbeError>>()?;
    // The kernel takes the semaphore's file offset: one in `.bss` (no file bytes) cannot be counted.
    let semaphore =
        notes.iter().find_map(|note| note.semaphore).map(|address| (address, binary.address_offset(address)));
    let fields = arg_fields(&sites);
    let read = vec![true; fields.len()];
    Ok(Box::new(UsdtProbe { binary: path, provider, name, sites, semaphore, fields, read }))
}

/// `arg0..argN` for the most arguments a site has, each signed as the first site having it says. The prologue
/// stores argument `i` at `r10 - 8 * (i + 1)`, extended to 64 bits.
fn arg_fields(sites: &[Site]) -> Vec<Field> {
    let count = sites.iter().map(|site| site.args.len()).max().unwrap_or(0);
    (0..count)
        .map(|index| {
            let signed = sites.iter().find_map(|site| site.args.get(index)).is_some_and(|(arg, _)| arg.signed);
            Field {
                name: format!("arg{index}"),
                ty: FieldType::Int { size: 8, signed },
                source: FieldSource::Stack { offset: slot(index) },
            }
        })
        .collect()
}

/// The stack offset argument `index` is stored at.
fn slot(index: usize) -> i16 {
    -8 * (index as i16 + 1)
}

/// The provider of the only probe of `binary` named `name`, or an error naming the candidates.
fn only_provider(binary: &Binary, name: &str) -> Result<String, ProbeError> {
    let mut providers: Vec<&str> =
        binary.usdt_notes().iter().filter(|note| note.name == name).map(|note| note.provider.as_str()).collect();
    providers.sort_unstable();
    providers.dedup();
    match providers.as_slice() {
        [provider] => Ok(provider.to_string()),
        [] => Err(missing_probe(binary, "*", name, 2)),
        several => {
            let path = binary.path().display();
            let choices: Vec<String> =
                several.iter().map(|provider| format!("`usdt:{path}:{provider}:{name}`")).collect();
            Err(ProbeError::new(
                ProbeErrorKind::BadSpec,
                format!("`{name}` is a probe of {} providers of `{path}`", several.len()),
            )
            .with_hint(format!("name the provider: {}", choices.join(" or ")))
            .at(2))
        }
    }
}

/// The error for a probe `binary` does not have (`provider` `*` when none was named): the nearest name.
fn missing_probe(binary: &Binary, provider: &str, name: &str, position: usize) -> ProbeError {
    let path = binary.path().display();
    let wanted = if provider == "*" { name.to_string() } else { format!("{provider}:{name}") };
    if binary.usdt_notes().is_empty() {
        return ProbeError::new(ProbeErrorKind::MissingTarget, format!("`{path}` has no USDT probes"))
            .with_hint("USDT probes are the `.note.stapsdt` notes `<sys/sdt.h>` leaves; `uprobe:` probes functions")
            .at(1);
    }
    let known: Vec<String> = binary
        .usdt_notes()
        .iter()
        .map(|note| if provider == "*" { note.name.clone() } else { format!("{}:{}", note.provider, note.name) })
        .collect();
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    let mut hint = match nearest(&wanted, &known) {
        Some(near) => format!("did you mean `{near}`? "),
        None => String::new(),
    };
    hint.push_str(&format!("`jl -l 'usdt:{path}:*'` lists its probes"));
    ProbeError::new(ProbeErrorKind::MissingTarget, format!("`{path}` has no USDT probe `{wanted}`"))
        .with_hint(hint)
        .at(position)
}

/// The error for an argument operand jl cannot read.
fn unreadable_operand(provider: &str, name: &str, operand: &str) -> ProbeError {
    ProbeError::new(
        ProbeErrorKind::BadSpec,
        format!("jl cannot read the argument `{operand}` of USDT probe `{provider}:{name}`"),
    )
    .with_hint(
        "jl reads x86-64 operands SIZE@%REGISTER, SIZE@$CONSTANT and SIZE@DISPLACEMENT(%REGISTER); not index \
         registers or RIP-relative globals",
    )
}

/// The path of the binary `name` and its USDT probes (provider, name) matching the patterns (`*` and `?`),
/// sorted, each once however many sites it has: what a wildcard `usdt:` path stands for, and what
/// `jl -l 'usdt:BINARY:PROVIDER:NAME'` lists.
///
/// ```no_run
/// let (path, probes) = jitterlib::probe::usdt_probes("libc", "*", "memory_*")?;
/// # Ok::<(), jitterlib::probe::ProbeError>(())
/// ```
pub fn usdt_probes(name: &str, provider: &str, probe: &str) -> Result<(String, Vec<(String, String)>), ProbeError> {
    let binary = super::uprobe::open(name)?;
    let mut probes: Vec<(String, String)> = binary
        .usdt_notes()
        .iter()
        .filter(|note| super::glob(provider, &note.provider) && super::glob(probe, &note.name))
        .map(|note| (note.provider.clone(), note.name.clone()))
        .collect();
    probes.sort();
    probes.dedup();
    Ok((binary.path().display().to_string(), probes))
}

/// The specs a `usdt:` path with wildcards in its provider or name stands for, one per matching probe; `None`
/// for any other path. No match is an error naming the pattern.
pub(super) fn expand(parts: &[String]) -> Result<Option<Vec<ProbeSpec>>, ProbeError> {
    let wild = |part: &String| part.contains(['*', '?']);
    let (kind, binary, provider, name) = match parts {
        [kind, binary, name] if wild(name) => (kind, binary, "*", name),
        [kind, binary, provider, name] if wild(provider) || wild(name) => (kind, binary, provider.as_str(), name),
        _ => return Ok(None),
    };
    if super::kind(kind).map(|kind| kind.name) != Some("usdt") {
        return Ok(None);
    }
    let (path, probes) = usdt_probes(binary, provider, name)?;
    if probes.is_empty() {
        let pattern = parts[2..].join(":");
        return Err(ProbeError::new(
            ProbeErrorKind::MissingTarget,
            format!("no USDT probe of `{binary}` matches `{pattern}`"),
        )
        .with_hint(format!("`jl -l 'usdt:{binary}:*'` lists them"))
        .at(2));
    }
    let spec = |(provider, name): (String, String)| ProbeSpec::Path(vec![kind.clone(), path.clone(), provider, name]);
    Ok(Some(probes.into_iter().map(spec).collect()))
}

impl Probe for UsdtProbe {
    fn describe(&self) -> String {
        format!("usdt:{}:{}:{}", self.binary, self.provider, self.name)
    }

    fn attach(&self) -> Attach {
        self.site_attach(&self.sites[0])
    }

    fn points(&self) -> Vec<Point> {
        if self.sites.len() == 1 {
            return vec![Point { suffix: "", attach: self.attach(), fires: true }];
        }
        self.sites
            .iter()
            .zip(SITE_SUFFIXES)
            .map(|(site, suffix)| Point { suffix, attach: self.site_attach(site), fires: true })
            .collect()
    }

    fn fields(&self) -> &[Field] {
        &self.fields
    }

    fn only_fields_read(&mut self, _kernel: &dyn KernelInfo, read: &[String]) -> Result<(), ProbeError> {
        for (field, wanted) in self.fields.iter().zip(&mut self.read) {
            *wanted = read.contains(&field.name);
        }
        Ok(())
    }

    fn stack_bytes(&self) -> u32 {
        8 * self.read.iter().rposition(|&read| read).map_or(0, |last| last as u32 + 1)
    }

    fn emit_prologue(&self, b: &mut Builder, env: &super::EmitEnv) {
        let site = &self.sites[env.point];
        for (index, _) in self.read.iter().enumerate().filter(|(_, &read)| read) {
            let slot = slot(index);
            match site.args.get(index) {
                Some((arg, operand)) => {
                    b.comment(format!("arg{index}: {operand}"));
                    emit_arg(b, env.ctx, arg, slot);
                }
                None => {
                    b.comment(format!("arg{index}: not an argument of this site"));
                    b.store_imm(Size::DW, Reg::R10, slot, 0);
                }
            }
        }
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = vec![format!("{} site(s) in {}", self.sites.len(), self.binary)];
        match self.semaphore {
            Some((address, Some(_))) => notes.push(format!(
                "has a semaphore at 0x{address:x}, which the kernel increments while jl is attached (Linux 4.20)"
            )),
            Some((address, None)) => notes.push(format!(
                "has a semaphore at 0x{address:x} that no file bytes hold, so the kernel cannot count it: where the \
                 program tests it (`PROVIDER_NAME_ENABLED()`), the probe fires only while something else sets it"
            )),
            None => {}
        }
        notes
    }

    fn user_space(&self) -> bool {
        true
    }
}

impl UsdtProbe {
    fn site_attach(&self, site: &Site) -> Attach {
        Attach::Uprobe {
            binary: self.binary.clone(),
            symbol: format!("{}:{}", self.provider, self.name),
            offset: site.offset,
            ret: false,
            semaphore: self.semaphore.and_then(|(_, offset)| offset),
        }
    }
}

/// Stores `arg`, extended to 64 bits, at `r10 + slot`; uses r0-r3.
fn emit_arg(b: &mut Builder, ctx: Reg, arg: &Arg, slot: i16) {
    match arg.location {
        Location::Constant(value) => {
            let bits = 64 - 8 * u32::from(arg.size);
            let value = if arg.signed { (value << bits) >> bits } else { ((value as u64) << bits >> bits) as i64 };
            match i32::try_from(value) {
                Ok(small) => b.store_imm(Size::DW, Reg::R10, slot, small),
                Err(_) => {
                    b.mov_i64(Reg::R0, value);
                    b.store(Size::DW, Reg::R10, slot, Reg::R0);
                }
            }
        }
        Location::Register(Register { offset, shift }) => {
            b.load(Size::DW, Reg::R0, ctx, offset as i16);
            if shift > 0 {
                b.alu64(AluOp::Rsh, Reg::R0, i32::from(shift));
            }
            extend(b, arg);
            b.store(Size::DW, Reg::R10, slot, Reg::R0);
        }
        Location::Memory { base, displacement } => {
            b.store_imm(Size::DW, Reg::R10, slot, 0);
            b.load(Size::DW, Reg::R3, ctx, base.offset as i16);
            if displacement != 0 {
                b.alu64(AluOp::Add, Reg::R3, displacement);
            }
            b.mov64(Reg::R1, Reg::R10);
            b.alu64(AluOp::Add, Reg::R1, i32::from(slot));
            b.mov64(Reg::R2, i32::from(arg.size));
            b.call(Helper::ProbeReadUser);
            if arg.size < 8 && arg.signed {
                b.load(Size::DW, Reg::R0, Reg::R10, slot);
                extend(b, arg);
                b.store(Size::DW, Reg::R10, slot, Reg::R0);
            }
        }
    }
}

/// Sign- or zero-extends the low `arg.size` bytes of r0 to 64 bits.
fn extend(b: &mut Builder, arg: &Arg) {
    if arg.size < 8 {
        let bits = 64 - 8 * i32::from(arg.size);
        b.alu64(AluOp::Lsh, Reg::R0, bits);
        b.alu64(if arg.signed { AluOp::Arsh } else { AluOp::Rsh }, Reg::R0, bits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::FixtureKernel;

    /// The checked-in fixture (tests/programs/usdt_fixture.c).
    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/programs/usdt_fixture");

    fn path(text: &str) -> ProbeSpec {
        ProbeSpec::Path(text.replace("BIN", FIXTURE).split(':').map(str::to_string).collect())
    }

    #[test]
    fn a_probe_with_two_sites_attaches_to_each() {
        let mut probe = super::super::resolve(&path("usdt:BIN:app:request"), &FixtureKernel::bundled()).unwrap();
        let points = probe.points();
        assert_eq!(points.iter().map(|point| point.suffix).collect::<Vec<_>>(), ["s0", "s1"]);
        assert!(points.iter().all(|point| matches!(point.attach, Attach::Uprobe { semaphore: None, ret: false, .. })));
        assert_ne!(points[0].attach, points[1].attach);
        // -8@%rdi -2@%si 8@%rcx -8@-8(%rsp)
        let signed: Vec<bool> =
            probe.fields().iter().map(|field| matches!(field.ty, FieldType::Int { signed: true, .. })).collect();
        assert_eq!(signed, [true, true, false, true]);
        assert_eq!(probe.stack_bytes(), 32);
        probe.only_fields_read(&FixtureKernel::bundled(), &["arg1".to_string()]).unwrap();
        assert_eq!(probe.stack_bytes(), 16);
    }

    #[test]
    fn wildcards_expand_to_each_probe_once() {
        let expanded = expand(&["usdt".into(), FIXTURE.into(), "*".into(), "start".into()]).unwrap().unwrap();
        let names: Vec<String> = expanded
            .iter()
            .map(|spec| match spec {
                ProbeSpec::Path(parts) => parts[2..].join(":"),
                ProbeSpec::Typed { .. } => unreachable!(),
            })
            .collect();
        assert_eq!(names, ["app:start", "lib:start"]);
        assert!(expand(&["usdt".into(), FIXTURE.into(), "app".into(), "start".into()]).unwrap().is_none());
        let error = expand(&["usdt".into(), FIXTURE.into(), "nothing*".into()]).unwrap_err();
        assert_eq!(error.kind, ProbeErrorKind::MissingTarget);
    }

    #[test]
    fn wrong_parts_are_an_error() {
        let error = super::super::resolve(&path("usdt:BIN"), &FixtureKernel::bundled()).unwrap_err();
        assert_eq!(error.message, "`usdt` probes are written `usdt:BINARY:[PROVIDER:]NAME`");
    }
}
