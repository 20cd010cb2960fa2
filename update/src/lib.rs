//! camhub-update's library parts: the SHA256SUMS reader, so that the fuzz
//! target and its regression tests run the very code the updater runs, and
//! the record of the installed release, so that tests read it back with the
//! updater's own types.

pub mod state;
pub mod sums;
