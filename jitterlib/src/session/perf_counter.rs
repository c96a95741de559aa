//! The perf counters that `software:` and `hardware:` probes sample (and the CPU clock of `profile:` and
//! `interval:`), with bpftrace's names for them.

use aya::programs::perf_event::{HardwareEvent, PerfEventConfig, SoftwareEvent};

/// A counter a perf event samples: the program runs every time it advances by the event's period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PerfCounter {
    /// Time on the CPU's clock, in nanoseconds (`cpu-clock`).
    CpuClock,
    /// Time the task on the CPU runs, in nanoseconds (`task-clock`).
    TaskClock,
    /// Page faults (`page-faults`).
    PageFaults,
    /// Context switches (`context-switches`).
    ContextSwitches,
    /// Migrations of tasks to another CPU (`cpu-migrations`).
    CpuMigrations,
    /// Page faults served without I/O (`minor-faults`).
    MinorFaults,
    /// Page faults that needed I/O (`major-faults`).
    MajorFaults,
    /// Unaligned accesses the kernel fixed up (`alignment-faults`).
    AlignmentFaults,
    /// Instructions the kernel emulated (`emulation-faults`).
    EmulationFaults,
    /// CPU cycles (`cpu-cycles`, PMU).
    CpuCycles,
    /// Retired instructions (`instructions`, PMU).
    Instructions,
    /// Last-level cache accesses (`cache-references`, PMU).
    CacheReferences,
    /// Last-level cache misses (`cache-misses`, PMU).
    CacheMisses,
    /// Retired branch instructions (`branch-instructions`, PMU).
    BranchInstructions,
    /// Mispredicted branches (`branch-misses`, PMU).
    BranchMisses,
    /// Bus cycles (`bus-cycles`, PMU).
    BusCycles,
    /// Cycles stalled in the front end (`frontend-stalls`, PMU).
    FrontendStalls,
    /// Cycles stalled in the back end (`backend-stalls`, PMU).
    BackendStalls,
    /// Reference cycles, not scaled by frequency changes (`ref-cycles`, PMU).
    RefCycles,
}

impl PerfCounter {
    /// Every counter, software ones first.
    pub const ALL: [PerfCounter; 19] = [
        PerfCounter::CpuClock,
        PerfCounter::TaskClock,
        PerfCounter::PageFaults,
        PerfCounter::ContextSwitches,
        PerfCounter::CpuMigrations,
        PerfCounter::MinorFaults,
        PerfCounter::MajorFaults,
        PerfCounter::AlignmentFaults,
        PerfCounter::EmulationFaults,
        PerfCounter::CpuCycles,
        PerfCounter::Instructions,
        PerfCounter::CacheReferences,
        PerfCounter::CacheMisses,
        PerfCounter::BranchInstructions,
        PerfCounter::BranchMisses,
        PerfCounter::BusCycles,
        PerfCounter::FrontendStalls,
        PerfCounter::BackendStalls,
        PerfCounter::RefCycles,
    ];

    /// bpftrace's name for it (`page-faults`).
    pub fn name(self) -> &'static str {
        self.names()[0]
    }

    /// Its name followed by bpftrace's short names for it (`page-faults`, `faults`).
    pub fn names(self) -> &'static [&'static str] {
        match self {
            PerfCounter::CpuClock => &["cpu-clock", "cpu"],
            PerfCounter::TaskClock => &["task-clock"],
            PerfCounter::PageFaults => &["page-faults", "faults"],
            PerfCounter::ContextSwitches => &["context-switches", "cs"],
            PerfCounter::CpuMigrations => &["cpu-migrations"],
            PerfCounter::MinorFaults => &["minor-faults"],
            PerfCounter::MajorFaults => &["major-faults"],
            PerfCounter::AlignmentFaults => &["alignment-faults"],
            PerfCounter::EmulationFaults => &["emulation-faults"],
            PerfCounter::CpuCycles => &["cpu-cycles", "cycles"],
            PerfCounter::Instructions => &["instructions"],
            PerfCounter::CacheReferences => &["cache-references"],
            PerfCounter::CacheMisses => &["cache-misses"],
            PerfCounter::BranchInstructions => &["branch-instructions", "branches"],
            PerfCounter::BranchMisses => &["branch-misses"],
            PerfCounter::BusCycles => &["bus-cycles"],
            PerfCounter::FrontendStalls => &["frontend-stalls"],
            PerfCounter::BackendStalls => &["backend-stalls"],
            PerfCounter::RefCycles => &["ref-cycles"],
        }
    }

    /// Whether the CPU's performance monitoring unit counts it (`PERF_TYPE_HARDWARE`), rather than the kernel.
    pub fn is_hardware(self) -> bool {
        matches!(self.perf_config(), PerfEventConfig::Hardware(_))
    }

    /// The perf event configuration aya opens.
    pub(super) fn perf_config(self) -> PerfEventConfig {
        use PerfEventConfig::{Hardware as H, Software as S};
        match self {
            PerfCounter::CpuClock => S(SoftwareEvent::CpuClock),
            PerfCounter::TaskClock => S(SoftwareEvent::TaskClock),
            PerfCounter::PageFaults => S(SoftwareEvent::PageFaults),
            PerfCounter::ContextSwitches => S(SoftwareEvent::ContextSwitches),
            PerfCounter::CpuMigrations => S(SoftwareEvent::CpuMigrations),
            PerfCounter::MinorFaults => S(SoftwareEvent::PageFaultsMin),
            PerfCounter::MajorFaults => S(SoftwareEvent::PageFaultsMaj),
            PerfCounter::AlignmentFaults => S(SoftwareEvent::AlignmentFaults),
            PerfCounter::EmulationFaults => S(SoftwareEvent::EmulationFaults),
            PerfCounter::CpuCycles => H(HardwareEvent::CpuCycles),
            PerfCounter::Instructions => H(HardwareEvent::Instructions),
            PerfCounter::CacheReferences => H(HardwareEvent::CacheReferences),
            PerfCounter::CacheMisses => H(HardwareEvent::CacheMisses),
            PerfCounter::BranchInstructions => H(HardwareEvent::BranchInstructions),
            PerfCounter::BranchMisses => H(HardwareEvent::BranchMisses),
            PerfCounter::BusCycles => H(HardwareEvent::BusCycles),
            PerfCounter::FrontendStalls => H(HardwareEvent::StalledCyclesFrontend),
            PerfCounter::BackendStalls => H(HardwareEvent::StalledCyclesBackend),
            PerfCounter::RefCycles => H(HardwareEvent::RefCpuCycles),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_software_comes_first() {
        let mut names: Vec<&str> =
            PerfCounter::ALL.iter().flat_map(|counter| counter.names().iter().copied()).collect();
        let all = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all, "a name stands for one counter");
        let first_hardware = PerfCounter::ALL.iter().position(|counter| counter.is_hardware()).expect("hardware");
        assert!(PerfCounter::ALL[first_hardware..].iter().all(|counter| counter.is_hardware()));
        assert_eq!(PerfCounter::PageFaults.name(), "page-faults");
    }
}
