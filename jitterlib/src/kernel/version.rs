//! Kernel release strings (`uname -r`) turned into comparable versions.

/// The version of a kernel, from its release string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelVersion {
    /// Major number (`6` in `6.18.44`).
    pub major: u32,
    /// Minor number (`18` in `6.18.44`).
    pub minor: u32,
    /// Patch level (`44` in `6.18.44`; `0` when the release has none).
    pub patch: u32,
    /// The full release string, e.g. `6.18.44-fc-v657`.
    pub release: String,
}

impl KernelVersion {
    /// Parses a release string such as `6.18.44-fc-v657`, `6.1.0-27-amd64` or `5.10`.
    ///
    /// Returns `None` when it does not start with `MAJOR.MINOR`.
    pub fn parse(release: &str) -> Option<KernelVersion> {
        let numeric_end = release.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(release.len());
        let mut numbers = release[..numeric_end].split('.');
        let major = numbers.next()?.parse().ok()?;
        let minor = numbers.next()?.parse().ok()?;
        let patch = match numbers.next() {
            Some(text) if !text.is_empty() => text.parse().ok()?,
            _ => 0,
        };
        Some(KernelVersion { major, minor, patch, release: release.to_string() })
    }

    /// Whether this kernel is `major.minor` or newer.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// A version for a release string that [`KernelVersion::parse`] rejects: `0.0.0`, keeping the text.
    pub(crate) fn unknown(release: &str) -> KernelVersion {
        KernelVersion { major: 0, minor: 0, patch: 0, release: release.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_release_strings() {
        let v = KernelVersion::parse("6.18.44-fc-v657").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (6, 18, 44));
        assert_eq!(v.release, "6.18.44-fc-v657");
        let v = KernelVersion::parse("6.1.0-27-amd64").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (6, 1, 0));
        let v = KernelVersion::parse("5.10").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (5, 10, 0));
        let v = KernelVersion::parse("6.2-rc1").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (6, 2, 0));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(KernelVersion::parse(""), None);
        assert_eq!(KernelVersion::parse("linux"), None);
        assert_eq!(KernelVersion::parse("6"), None);
        assert_eq!(KernelVersion::parse("6.x"), None);
    }

    #[test]
    fn compares_major_minor() {
        let v = KernelVersion::parse("6.1.0").unwrap();
        assert!(v.at_least(6, 1));
        assert!(v.at_least(5, 19));
        assert!(!v.at_least(6, 2));
        assert!(!v.at_least(7, 0));
    }
}
