//! [`SourceMap`]: which construct of the caller's source each instruction comes from, so that a verifier
//! rejection (which names an instruction index) can point at the script text that produced it. Host-side only:
//! nothing of it reaches the kernel.

/// Runs of instructions and the origin each run comes from: `(first instruction, origin)` marks in instruction
/// order. An origin is an id the caller gives meaning to (the compiler's index into its table of script spans);
/// `None` marks code that belongs to no origin.
///
/// Instruction indices count slots, as the kernel's verifier log does (`LD_IMM64` takes two).
///
/// ```
/// use jitterlib::insn::{Builder, Reg};
///
/// let mut b = Builder::new();
/// b.enter(7);
/// b.mov64(Reg::R0, 0);
/// b.enter(8);
/// b.ld_imm64(Reg::R1, 1);
/// b.leave();
/// b.leave();
/// b.exit();
/// let program = b.finish().expect("assembles");
/// let origins: Vec<_> = (0..program.len()).map(|insn| program.source_map.origin(insn)).collect();
/// assert_eq!(origins, [Some(7), Some(8), Some(8), None]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceMap {
    marks: Vec<(usize, Option<u32>)>,
}

impl SourceMap {
    /// Attributes instruction `insn` and those after it (up to the next mark) to `origin`. A mark at the same
    /// index as the previous one replaces it: nothing was emitted in between.
    pub fn mark(&mut self, insn: usize, origin: Option<u32>) {
        match self.marks.last_mut() {
            Some(last) if last.0 == insn => last.1 = origin,
            _ => self.marks.push((insn, origin)),
        }
    }

    /// The origin of instruction `insn`: that of the last mark at or before it.
    pub fn origin(&self, insn: usize) -> Option<u32> {
        let after = self.marks.partition_point(|&(first, _)| first <= insn);
        after.checked_sub(1).and_then(|last| self.marks[last].1)
    }

    /// The marks, `(first instruction, origin)`, in instruction order.
    pub fn marks(&self) -> &[(usize, Option<u32>)] {
        &self.marks
    }

    /// Follows the removal of instruction `insn`: later instructions move down one slot. When two marks land on
    /// the same index the later one is kept, as it belonged to the instruction now there.
    pub fn remove(&mut self, insn: usize) {
        for (first, _) in &mut self.marks {
            if *first > insn {
                *first -= 1;
            }
        }
        self.marks.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0;
            if same {
                earlier.1 = later.1;
            }
            same
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_mark_at_or_before_an_instruction_wins() {
        let mut map = SourceMap::default();
        assert_eq!(map.origin(0), None);
        map.mark(0, Some(1));
        map.mark(3, Some(2));
        map.mark(3, Some(4)); // replaces: nothing was emitted for 2
        map.mark(5, None);
        assert_eq!(map.marks(), [(0, Some(1)), (3, Some(4)), (5, None)]);
        let origins: Vec<_> = (0..7).map(|insn| map.origin(insn)).collect();
        assert_eq!(origins, [Some(1), Some(1), Some(1), Some(4), Some(4), None, None]);
    }

    #[test]
    fn removing_an_instruction_moves_later_marks_down() {
        let mut map = SourceMap::default();
        map.mark(0, Some(1));
        map.mark(1, Some(2));
        map.mark(4, Some(3));
        map.remove(0);
        assert_eq!(map.marks(), [(0, Some(2)), (3, Some(3))]);
        map.remove(1);
        assert_eq!(map.marks(), [(0, Some(2)), (2, Some(3))]);
        assert_eq!(map.origin(1), Some(2));
    }
}
