//! Why a trace could not be built, started or read.

use crate::agg::AggError;
use crate::insn::BuildError;
use crate::object::ObjectError;
use crate::probe::ProbeError;
use crate::session::SessionError;

/// Why a [`Trace`](super::Trace) could not be compiled, started or read.
///
/// ```no_run
/// use jitterlib::kernel::LiveKernel;
/// use jitterlib::trace::{Field, Timer, Trace, TraceError};
///
/// let kernel = LiveKernel::new();
/// match Trace::new(&kernel, Timer::func("estimation_timer")).histogram(Field::Dur).start() {
///     Ok(_trace) => println!("tracing"),
///     Err(error @ TraceError::Probe { .. }) => eprintln!("not on this kernel: {error}"),
///     Err(error) => eprintln!("error: {error}"),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The probe does not resolve on this kernel (unknown callback, missing tracepoint or module, bad argument).
    #[error("{probe}: {}{}", .error.message, hint(.error))]
    Probe {
        /// The probe as the language writes it.
        probe: String,
        /// What the probe registry said, with its hint.
        error: ProbeError,
    },
    /// The probe has no such field.
    #[error("{probe} has no field `{field}`; it has: {}", .available.join(", "))]
    UnknownField {
        /// The probe as the language writes it.
        probe: String,
        /// The field asked for.
        field: &'static str,
        /// The fields it has (`cpu` and `comm` included).
        available: Vec<String>,
    },
    /// A string field was given to an aggregation of numbers (`sum`, `hist`, ...).
    #[error("{probe}: `{field}` is a string; {aggregation}() needs a number")]
    NotANumber {
        /// The probe as the language writes it.
        probe: String,
        /// The field.
        field: &'static str,
        /// The aggregation function.
        aggregation: &'static str,
    },
    /// The `lhist` parameters do not make equal buckets.
    #[error("invalid linear histogram")]
    Aggregation {
        /// Why.
        #[source]
        source: AggError,
    },
    /// The keys and the probe's own fields need more BPF stack than the kernel allows.
    #[error("{probe}: the keys need {needed} bytes of BPF stack, more than the {limit} the kernel allows")]
    StackLimit {
        /// The probe as the language writes it.
        probe: String,
        /// Bytes needed.
        needed: u32,
        /// The kernel's limit.
        limit: u32,
    },
    /// A program could not be assembled.
    #[error("cannot assemble the program of {probe}")]
    Build {
        /// The probe as the language writes it.
        probe: String,
        /// Why.
        #[source]
        source: BuildError,
    },
    /// The ELF object could not be written.
    #[error("cannot write the BPF object")]
    Object {
        /// Why.
        #[source]
        source: ObjectError,
    },
    /// Loading, attaching or reading through the session failed (the verifier's log is in the source).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The aggregation map could not be decoded.
    #[error("cannot decode the aggregation map")]
    Decode {
        /// Why.
        #[source]
        source: AggError,
    },
}

/// `; hint` when the probe error has one.
fn hint(error: &ProbeError) -> String {
    error.hint.as_ref().map(|hint| format!("; {hint}")).unwrap_or_default()
}
