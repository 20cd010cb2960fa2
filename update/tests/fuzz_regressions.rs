//! The fuzz target for the SHA256SUMS reader (fuzz/fuzz_targets/sha256sums.rs),
//! replayed on its committed crash inputs and seeds without cargo fuzz.

#[path = "../../fuzz/checks/replay.rs"]
mod replay;
#[path = "../../fuzz/checks/sha256sums.rs"]
mod sha256sums;

#[test]
fn sha256sums_inputs() {
    replay::replay("sha256sums", sha256sums::run);
}
