//! `repro`: writes release manifests and proves that two builds of the
//! workspace are bit-for-bit identical. The binary is a thin layer over this
//! library, which the device programs (the updater) use too.

pub mod allowed_signers;
pub mod atomic;
pub mod attest;
pub mod build;
pub mod cli;
pub mod compare;
pub mod dsse;
pub mod explain;
pub mod hashing;
pub mod layout;
pub mod manifest;
pub mod matrix;
pub mod portable;
pub mod progress;
pub mod rebuilderd;
pub mod style;
pub mod sums;
pub mod write_manifest;

/// The outcome of a command that checks something. Errors (unusable input)
/// are the third outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    NotReproducible,
}

/// The exit-code contract, documented in the README and in `--help`.
pub mod exit {
    pub const PASSED: i32 = 0;
    pub const NOT_REPRODUCIBLE: i32 = 1;
    pub const UNUSABLE_INPUT: i32 = 2;
}

impl Verdict {
    /// Passed when the check passed, otherwise not reproducible (a DIFF or FAIL).
    pub fn from_passed(passed: bool) -> Verdict {
        if passed {
            Verdict::Passed
        } else {
            Verdict::NotReproducible
        }
    }

    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Passed => exit::PASSED,
            Verdict::NotReproducible => exit::NOT_REPRODUCIBLE,
        }
    }
}
