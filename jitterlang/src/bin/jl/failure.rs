//! Runtime failures phrased for the person running `jl`: a verifier rejection as a diagnostic pointing at the
//! script construct whose code was refused, the probe a failing program belongs to, and one clear line when the
//! kernel refuses because the process lacks privileges.

use jitterlang::codegen::Compiled;
use jitterlang::diag::Diagnostics;
use jitterlang::runtime::RunError;
use jitterlib::session::SessionError;
use std::io;

/// The script a failure is reported against: its name in diagnostics and its text.
pub struct Script<'a> {
    /// The name diagnostics show (`<-e>`, a path).
    pub name: &'a str,
    /// The source text.
    pub source: &'a str,
}

/// The whole text printed for a failed load, attach or run: [`rejection_report`] for a verifier rejection,
/// otherwise one `jl: ` line with [`explain`].
pub fn report(error: &RunError, compiled: &Compiled, script: &Script, whole_log: bool) -> String {
    rejection_report(error, compiled, script, whole_log)
        .unwrap_or_else(|| format!("jl: {}\n", explain(error, compiled)))
}

/// A verifier rejection as a diagnostic (error E0900) with the caret on the construct whose code the verifier
/// refused and the log lines that say why (the whole log with `whole_log`); `None` for other errors.
pub fn rejection_report(error: &RunError, compiled: &Compiled, script: &Script, whole_log: bool) -> Option<String> {
    let RunError::Session(SessionError::Verifier { program, log }) = error else { return None };
    let diagnostic = jitterlang::verifier::rejection(compiled, program, log, whole_log)?;
    Some(Diagnostics(vec![diagnostic]).render(script.name, script.source))
}

/// The text printed after `jl: ` for a failed load, attach or run.
pub fn explain(error: &RunError, compiled: &Compiled) -> String {
    let probe = failing_probe(error, compiled);
    if lacks_privileges(error) {
        let subject = probe.map_or_else(|| "loading BPF programs".to_string(), |probe| format!("probe `{probe}`"));
        return format!("permission denied for {subject}: run as root or grant CAP_BPF and CAP_PERFMON");
    }
    match probe {
        Some(probe) => format!("probe `{probe}`: {error}"),
        None => error.to_string(),
    }
}

/// An error followed by each of its causes, `: `-separated (`cannot listen on ADDR: Address already in use`).
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        text.push_str(&format!(": {current}"));
        cause = current.source();
    }
    text
}

/// The probe (as written in the script) of the program an error names, if any.
fn failing_probe<'c>(error: &RunError, compiled: &'c Compiled) -> Option<&'c str> {
    let RunError::Session(session) = error else { return None };
    let program = match session {
        SessionError::Verifier { program, .. }
        | SessionError::Load { program, .. }
        | SessionError::Permission { program, .. }
        | SessionError::Attach { program, .. }
        | SessionError::WrongProgramType { program, .. } => program,
        _ => return None,
    };
    compiled.programs.iter().find(|unit| unit.name == *program).map(|unit| unit.describe.as_str())
}

/// True when the kernel answered EPERM or EACCES and the process is not root.
fn lacks_privileges(error: &RunError) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return false;
    }
    if matches!(error, RunError::Session(SessionError::Permission { .. })) {
        return true;
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        let errno = current.downcast_ref::<io::Error>().and_then(io::Error::raw_os_error);
        if matches!(errno, Some(libc::EPERM | libc::EACCES)) {
            return true;
        }
        cause = current.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use jitterlib::kernel::FixtureKernel;

    #[test]
    fn verifier_rejection_is_a_diagnostic_on_the_script() {
        let source = "tracepoint:irq:softirq_entry { @ = count(); }";
        let compiled = jitterlang::compile(source, &FixtureKernel::bundled()).expect("compiles");
        let program = compiled.programs[0].name.clone();
        let log = "0: (b7) r0 = 0\nR0 !read_ok\n".to_string();
        let error = RunError::Session(SessionError::Verifier { program, log });
        let text = report(&error, &compiled, &Script { name: "<-e>", source }, false);
        assert!(text.starts_with("error[E0900]: the kernel verifier rejected the program for `tracepoint"), "{text}");
        assert!(text.contains("R0 !read_ok"), "{text}");
        let other = RunError::Session(SessionError::ProgramNotFound { program: "p".into() });
        assert_eq!(report(&other, &compiled, &Script { name: "<-e>", source }, false), format!("jl: {other}\n"));
    }

    #[test]
    fn an_error_is_printed_with_its_causes() {
        let error = jitterlang::runtime::ExporterError::Bind {
            address: "127.0.0.1:9435".to_string(),
            source: io::Error::from(io::ErrorKind::AddrInUse),
        };
        assert_eq!(with_causes(&error), "cannot listen on 127.0.0.1:9435: address in use");
    }

    #[test]
    fn verifier_rejection_names_the_probe_and_shows_the_log() {
        let compiled = jitterlang::compile("tracepoint:irq:softirq_entry { @ = count(); }", &FixtureKernel::bundled())
            .expect("compiles");
        let program = compiled.programs[0].name.clone();
        let log = "0: (b7) r0 = 0\n1: (95) exit\nR0 !read_ok\n".to_string();
        let error = RunError::Session(SessionError::Verifier { program: program.clone(), log });
        let text = explain(&error, &compiled);
        assert!(text.starts_with("probe `tracepoint:irq:softirq_entry`: the kernel verifier rejected"), "{text}");
        assert!(text.contains(&program) && text.ends_with("R0 !read_ok"), "{text}");
    }
}
