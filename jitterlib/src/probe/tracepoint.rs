//! `tracepoint:CATEGORY:NAME`: a static kernel tracepoint; `args.FIELD` are the fields of its format file.

use super::{path_parts, Field, FieldSource, FieldType, Probe, ProbeError, ProbeErrorKind, ProbeKind, ProbeSpec};
use crate::kernel::{KernelError, KernelInfo, StructName, TracepointField};
use crate::session::Attach;

/// Registry entry.
pub(super) static KIND: ProbeKind = ProbeKind {
    name: "tracepoint",
    aliases: &["t"],
    syntax: "tracepoint:CATEGORY:NAME",
    about: "a static kernel tracepoint; its record fields are args.NAME (types from the tracefs format file)",
    fields: &[("args.FIELD", "each field of the tracepoint's format (`jl -l tracepoint:CAT:NAME -v` lists them)")],
    resolve,
};

const SYNTAX: &str = "tracepoint:CATEGORY:NAME";

#[derive(Debug)]
struct Tracepoint {
    category: String,
    name: String,
    args: Vec<Field>,
}

fn resolve(spec: &ProbeSpec, kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    let parts = path_parts(spec, "tracepoint", 3, SYNTAX)?;
    let (category, name) = (&parts[1], &parts[2]);
    let format = kernel.tracepoint(category, name).map_err(|error| match error {
        KernelError::TracepointNotFound { .. } => {
            ProbeError::new(ProbeErrorKind::MissingTarget, format!("this kernel has no tracepoint `{category}:{name}`"))
                .with_hint(missing_hint(category, name, kernel))
                .at(2)
        }
        other => other.into(),
    })?;
    let args = format.fields.iter().filter(|field| !field.common).map(arg_field).collect();
    Ok(Box::new(Tracepoint { category: category.clone(), name: name.clone(), args }))
}

fn missing_hint(category: &str, name: &str, kernel: &dyn KernelInfo) -> String {
    let listing = format!("`jl -l 'tracepoint:{category}:*'` lists the tracepoints of `{category}`");
    let known = kernel.tracepoints().unwrap_or_default();
    let names: Vec<&str> = known.iter().filter(|(cat, _)| cat == category).map(|(_, n)| n.as_str()).collect();
    match super::nearest(name, &names) {
        Some(near) => format!("did you mean `tracepoint:{category}:{near}`? {listing}"),
        None => listing,
    }
}

fn arg_field(field: &TracepointField) -> Field {
    let ty = if field.data_loc {
        FieldType::DataLocStr
    } else if field.array_len.is_some() && field.c_type.contains("char") {
        FieldType::Str { size: field.size }
    } else if field.array_len.is_some() && field.size > 8 {
        FieldType::Bytes { size: field.size }
    } else if field.array_len.is_some() {
        FieldType::ShortBytes { size: field.size }
    } else if let Some(target) = StructName::pointed_to(&field.c_type).filter(|_| field.size == 8) {
        FieldType::Pointer { target }
    } else {
        FieldType::Int { size: field.size.min(8), signed: field.signed }
    };
    Field { name: field.name.clone(), ty, source: FieldSource::Context { offset: field.offset } }
}

impl Probe for Tracepoint {
    fn describe(&self) -> String {
        format!("tracepoint:{}:{}", self.category, self.name)
    }

    fn attach(&self) -> Attach {
        Attach::Tracepoint { category: self.category.clone(), name: self.name.clone() }
    }

    fn args(&self) -> &[Field] {
        &self.args
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::FixtureKernel;

    #[test]
    fn byte_arrays_are_bytes_short_or_long() {
        let spec = ProbeSpec::Path(vec!["tracepoint".into(), "sock".into(), "inet_sock_set_state".into()]);
        let probe = resolve(&spec, &FixtureKernel::bundled()).expect("the fixture has sock:inet_sock_set_state");
        let ty = |name: &str| probe.args().iter().find(|field| field.name == name).map(|field| field.ty);
        assert_eq!(ty("saddr"), Some(FieldType::ShortBytes { size: 4 }));
        assert_eq!(ty("saddr_v6"), Some(FieldType::Bytes { size: 16 }));
        assert_eq!(ty("family"), Some(FieldType::Int { size: 2, signed: false }));
    }
}
