//! camhub-update's SHA256SUMS reader, a library so that the fuzz target and
//! its regression tests run the very code the updater runs.

pub mod sums;
