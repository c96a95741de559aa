//! Errors of the runtime session, each phrased for the person running the tool.

use std::io;

use thiserror::Error;

use super::Rejection;

/// Why loading, attaching, running or reading failed.
#[derive(Debug, Error)]
pub enum SessionError {
    /// aya could not parse the object or create its maps.
    #[error("cannot load the BPF object")]
    Object {
        /// aya's error.
        #[source]
        source: Box<aya::EbpfError>,
    },
    /// The kernel verifier rejected a program. The message shows the lines of the log that explain why
    /// ([`Rejection::excerpt`]).
    #[error("the kernel verifier rejected program `{program}`:\n{}", excerpt(log))]
    Verifier {
        /// The program name.
        program: String,
        /// The whole verifier log.
        log: String,
    },
    /// Loading a program failed for a reason other than the verifier.
    #[error("cannot load program `{program}`")]
    Load {
        /// The program name.
        program: String,
        /// aya's error.
        #[source]
        source: Box<aya::programs::ProgramError>,
    },
    /// The kernel refused an operation because the process lacks privileges.
    #[error("permission denied while {action} `{program}`: run as root or grant CAP_BPF and CAP_PERFMON")]
    Permission {
        /// What was being done (`loading`, `attaching`).
        action: &'static str,
        /// The program name.
        program: String,
    },
    /// A program could not be attached (or loaded for its attach point) because of the target or the kernel.
    #[error("cannot attach program `{program}` to {target}: {reason}; {hint}")]
    Attach {
        /// The program name.
        program: String,
        /// The attach point, as written in scripts (`tracepoint:irq:softirq_entry`).
        target: String,
        /// What went wrong.
        reason: String,
        /// What to try instead.
        hint: String,
    },
    /// The object has no program of that name, or a program has no [`ProgramSpec`](super::ProgramSpec).
    #[error("no program named `{program}` in the session")]
    ProgramNotFound {
        /// The name asked for.
        program: String,
    },
    /// The object has no map of that name (or it was already taken by a ring reader).
    #[error("no map named `{map}` in the session")]
    MapNotFound {
        /// The name asked for.
        map: String,
    },
    /// The program's type does not match its attach point (the object and the specs disagree).
    #[error("program `{program}` has the wrong type for {target}")]
    WrongProgramType {
        /// The program name.
        program: String,
        /// The attach point of its spec.
        target: String,
    },
    /// `attach` was called on a manual program, or `run` on an attached one.
    #[error("program `{program}` is {actual}, not {expected}")]
    WrongMode {
        /// The program name.
        program: String,
        /// What the program is (`manual`, `attachable`).
        actual: &'static str,
        /// What the call needs.
        expected: &'static str,
    },
    /// The map's type cannot be read or used this way.
    #[error("map `{map}` is a {kind} map, which {operation} does not support")]
    UnsupportedMap {
        /// The map name.
        map: String,
        /// Its type, as aya names it.
        kind: String,
        /// The operation attempted.
        operation: &'static str,
    },
    /// Kernel BTF is needed (fentry, fexit, tp_btf) but could not be read.
    #[error("cannot read kernel BTF from /sys/kernel/btf/vmlinux")]
    Btf {
        /// aya's error.
        #[source]
        source: Box<aya::BtfError>,
    },
    /// A system call failed.
    #[error("{what} failed")]
    Syscall {
        /// The call and its purpose.
        what: &'static str,
        /// The error the kernel returned.
        #[source]
        source: io::Error,
    },
}

/// The lines of a verifier log that explain the rejection, or a note when the log is empty.
fn excerpt(log: &str) -> String {
    let excerpt = Rejection::parse(log).excerpt;
    if excerpt.is_empty() {
        return "(the verifier log is empty)".to_string();
    }
    excerpt.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_message_shows_the_failing_instruction_and_the_error() {
        let log = "0: (b7) r0 = 0\n1: (b7) r1 = 0\n2: (b7) r2 = 0\n3: (bf) r0 = r4\nR4 !read_ok\nprocessed 4 insns\n";
        let message = SessionError::Verifier { program: "p".into(), log: log.into() }.to_string();
        assert_eq!(
            message,
            "the kernel verifier rejected program `p`:\n1: (b7) r1 = 0\n2: (b7) r2 = 0\n3: (bf) r0 = r4\nR4 !read_ok"
        );
    }

    #[test]
    fn empty_verifier_log_is_said_so() {
        let message = SessionError::Verifier { program: "p".into(), log: String::new() }.to_string();
        assert!(message.ends_with("(the verifier log is empty)"));
    }
}
