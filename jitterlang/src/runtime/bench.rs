//! `--mode bench`: each `bench:` block run many times in a row by the kernel, its mean time printed, as
//! bpftrace's bench mode does. What the blocks print is dropped, as bpftrace drops it.

use super::output::Output;
use super::RunError;
use crate::codegen::Compiled;
use jitterlib::session::{Attach, RingReader, Session};
use std::time::Duration;

/// One benchmark's result: its mean time and how many runs it was measured over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Measured {
    /// Mean nanoseconds of one run.
    pub mean_ns: u32,
    /// Runs in the measurement that counted.
    pub iterations: u32,
}

/// Runs the `bench:` blocks of `compiled` one after the other, in script order, printing each result.
pub(super) fn run(
    compiled: &Compiled,
    session: &Session,
    ring: &mut RingReader,
    output: &mut Output,
) -> Result<(), RunError> {
    let benchmarks: Vec<(&str, &str)> = compiled
        .programs
        .iter()
        .filter_map(|unit| match &unit.attach {
            Attach::Benchmark { name } => Some((unit.name.as_str(), name.as_str())),
            _ => None,
        })
        .collect();
    let names: Vec<&str> = benchmarks.iter().map(|(_, name)| *name).collect();
    for (index, (program, _)) in benchmarks.iter().enumerate() {
        let measured = measure(|iterations| {
            let mean_ns = session.bench(program, iterations)?;
            ring.poll(Duration::ZERO, &mut |_| {})?;
            Ok(mean_ns)
        })?;
        output.benchmark(&names, index, measured)?;
    }
    Ok(())
}

/// Measures with `run` (given a repeat count, returning the mean ns of one run), raising the count as
/// bpftrace does until the runs take 1 ms together: x1000 under 1 us, x100 under 10 us, x10 under 100 us, x2
/// under 1 ms.
pub(super) fn measure(mut run: impl FnMut(u32) -> Result<u32, RunError>) -> Result<Measured, RunError> {
    let mut iterations: u32 = 1;
    loop {
        let mean_ns = run(iterations)?;
        let total_ns = u64::from(mean_ns) * u64::from(iterations);
        let factor = match total_ns {
            0..1_000 => 1_000,
            1_000..10_000 => 100,
            10_000..100_000 => 10,
            100_000..1_000_000 => 2,
            _ => 1,
        };
        match iterations.checked_mul(factor) {
            Some(next) if factor > 1 => iterations = next,
            // Done, or a program so fast that u32 runs do not add up to 1 ms: the last measurement stands.
            _ => return Ok(Measured { mean_ns, iterations }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repeat_count_grows_until_the_runs_take_a_millisecond() {
        let mut asked = Vec::new();
        let measured = measure(|iterations| {
            asked.push(iterations);
            Ok(40)
        })
        .expect("no error");
        // 40 ns: 1 -> 1000 (40 us) -> 10 000 (400 us) -> 20 000 (800 us) -> 40 000 (1.6 ms).
        assert_eq!(asked, [1, 1_000, 10_000, 20_000, 40_000]);
        assert_eq!(measured, Measured { mean_ns: 40, iterations: 40_000 });
    }

    #[test]
    fn a_program_too_fast_to_measure_stops_at_the_largest_count() {
        let measured = measure(|_| Ok(0)).expect("no error");
        assert_eq!(measured, Measured { mean_ns: 0, iterations: 1_000_000_000 });
    }
}
