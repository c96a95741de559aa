//! Why a probe cannot be resolved: [`ProbeError`], which keeps the error it came from as its source.

use crate::insn::BuildError;
use crate::kernel::KernelError;

/// Why a probe cannot be resolved.
///
/// ```
/// use jitterlib::kernel::FixtureKernel;
/// use jitterlib::probe::{resolve, ProbeErrorKind, ProbeSpec};
///
/// let spec = ProbeSpec::Path(vec!["tracepoint".into(), "irq".into(), "no_such_tracepoint".into()]);
/// let error = resolve(&spec, &FixtureKernel::bundled()).err().expect("no such tracepoint");
/// assert_eq!(error.kind, ProbeErrorKind::MissingTarget);
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ProbeError {
    /// What kind of problem.
    pub kind: ProbeErrorKind,
    /// What is wrong, lowercase.
    pub message: String,
    /// What to try instead.
    pub hint: Option<String>,
    /// The argument (typed probes) or path part (path probes, 0 = the kind) the error is about.
    pub position: Option<usize>,
    /// The error this one came from, when it came from another (reading kernel metadata, building a program).
    #[source]
    pub source: Option<ProbeCause>,
}

/// Classes of [`ProbeError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeErrorKind {
    /// No such probe kind.
    UnknownKind,
    /// Wrong arguments or parts.
    BadSpec,
    /// The kernel lacks the target (tracepoint, function, module).
    MissingTarget,
    /// The kernel metadata could not be read.
    Kernel,
    /// The probe's own program could not be built: a bug of jitterlib, not of the spec or the kernel.
    Internal,
}

/// The error a [`ProbeError`] came from (boxed: a probe error stays small).
#[derive(Debug, thiserror::Error)]
pub enum ProbeCause {
    /// Reading kernel metadata failed.
    #[error(transparent)]
    Kernel(Box<KernelError>),
    /// Building one of the probe's programs failed.
    #[error(transparent)]
    Build(Box<BuildError>),
}

impl ProbeError {
    /// An error of `kind` with a message.
    pub fn new(kind: ProbeErrorKind, message: impl Into<String>) -> ProbeError {
        ProbeError { kind, message: message.into(), hint: None, position: None, source: None }
    }

    /// A [`ProbeErrorKind::BadSpec`] error: the probe is written wrong.
    pub fn bad_spec(message: impl Into<String>) -> ProbeError {
        ProbeError::new(ProbeErrorKind::BadSpec, message)
    }

    /// An error of `kind` with the message of `cause`, which it keeps as its source.
    fn caused(kind: ProbeErrorKind, cause: ProbeCause) -> ProbeError {
        let message = cause.to_string();
        ProbeError { source: Some(cause), ..ProbeError::new(kind, message) }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> ProbeError {
        self.hint = Some(hint.into());
        self
    }

    /// Points the error at an argument or path part.
    pub fn at(mut self, position: usize) -> ProbeError {
        self.position = Some(position);
        self
    }
}

/// A missing tracepoint is [`ProbeErrorKind::MissingTarget`] wherever it is asked for; anything else that keeps
/// the kernel's metadata out of reach is [`ProbeErrorKind::Kernel`]. The message is the kernel error's, which
/// stays the source.
impl From<KernelError> for ProbeError {
    fn from(error: KernelError) -> ProbeError {
        let kind = match error {
            KernelError::TracepointNotFound { .. } => ProbeErrorKind::MissingTarget,
            _ => ProbeErrorKind::Kernel,
        };
        ProbeError::caused(kind, ProbeCause::Kernel(Box::new(error)))
    }
}

/// A program that does not assemble is a bug of its probe: [`ProbeErrorKind::Internal`].
impl From<BuildError> for ProbeError {
    fn from(error: BuildError) -> ProbeError {
        ProbeError::caused(ProbeErrorKind::Internal, ProbeCause::Build(Box::new(error)))
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    #[test]
    fn a_missing_tracepoint_is_a_missing_target_that_keeps_its_cause() {
        let missing = KernelError::TracepointNotFound { category: "timer".into(), name: "timer_expire_entry".into() };
        let text = missing.to_string();
        let error = ProbeError::from(missing);
        assert_eq!((error.kind, error.message.as_str()), (ProbeErrorKind::MissingTarget, text.as_str()));
        let cause = error.source().and_then(|source| source.downcast_ref::<ProbeCause>());
        assert!(
            matches!(cause, Some(ProbeCause::Kernel(kernel)) if matches!(**kernel, KernelError::TracepointNotFound { .. })),
            "{cause:?}"
        );
    }

    #[test]
    fn unreadable_metadata_is_a_kernel_error_and_a_bad_program_an_internal_one() {
        let unreadable = ProbeError::from(KernelError::Tracefs { reason: "not mounted".into() });
        assert_eq!(unreadable.kind, ProbeErrorKind::Kernel);
        let unbound = ProbeError::from(BuildError::UnboundLabel { insn: 3, label: 1 });
        assert_eq!(unbound.kind, ProbeErrorKind::Internal);
        assert!(unbound.source().is_some());
    }
}
