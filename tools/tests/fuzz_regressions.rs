//! The fuzz targets for repro's parsers (fuzz/fuzz_targets/), replayed on
//! their committed crash inputs and seeds without cargo fuzz.

#[path = "../../fuzz/checks/allowed_signers.rs"]
mod allowed_signers;
#[path = "../../fuzz/checks/attestation.rs"]
mod attestation;
#[path = "../../fuzz/checks/manifest.rs"]
mod manifest;
#[path = "../../fuzz/checks/replay.rs"]
mod replay;

#[test]
fn manifest_inputs() {
    replay::replay("manifest", manifest::run);
}

#[test]
fn allowed_signers_inputs() {
    replay::replay("allowed_signers", allowed_signers::run);
}

#[test]
fn attestation_inputs() {
    replay::replay("attestation", attestation::run);
}
