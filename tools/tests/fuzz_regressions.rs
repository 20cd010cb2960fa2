//! The fuzz targets for repro's parsers (fuzz/fuzz_targets/), replayed on
//! their committed crash inputs and seeds without cargo fuzz.

#[path = "../../fuzz/checks/allowed_signers.rs"]
mod allowed_signers;
#[path = "../../fuzz/checks/attestation.rs"]
mod attestation;
#[path = "../../fuzz/checks/bad_verdict.rs"]
mod bad_verdict;
#[path = "../../fuzz/checks/daemon_key.rs"]
mod daemon_key;
#[path = "../../fuzz/checks/manifest.rs"]
mod manifest;
#[path = "../../fuzz/checks/rebuild_input.rs"]
mod rebuild_input;
#[path = "../../fuzz/checks/rebuilderd_link.rs"]
mod rebuilderd_link;
#[path = "../../fuzz/checks/rebuilders_toml.rs"]
mod rebuilders_toml;
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

#[test]
fn rebuilderd_link_inputs() {
    replay::replay("rebuilderd_link", rebuilderd_link::run);
}

#[test]
fn rebuild_input_inputs() {
    replay::replay("rebuild_input", rebuild_input::run);
}

#[test]
fn rebuilders_toml_inputs() {
    replay::replay("rebuilders_toml", rebuilders_toml::run);
}

#[test]
fn daemon_key_inputs() {
    replay::replay("daemon_key", daemon_key::run);
}

#[test]
fn bad_verdict_inputs() {
    replay::replay("bad_verdict", bad_verdict::run);
}
