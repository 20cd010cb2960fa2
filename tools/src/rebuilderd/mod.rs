//! camhub as a rebuilderd distribution: what makes our releases rebuildable
//! by any rebuilderd operator (the build input, the sync reports, the
//! backend) and what makes a device act on the result (the signed in-toto
//! links those instances publish, checked against pinned keys).
//!
//! rebuilderd itself (daemon, workers, rebuildctl) is the engine: nothing
//! here schedules, queues or stores jobs.

pub mod api;
pub mod backend;
pub mod collect;
pub mod confirm;
pub mod daemon_key;
pub mod input;
pub mod link;
mod process;
pub mod release;
pub mod status;
pub mod stored;
pub mod sync;
pub use process::{SUBREAPER_WARNING, die_with_parent};
pub mod trust;

/// The `distribution` of every job: the key of the worker's `[backend."camhub"]`.
pub const DISTRIBUTION: &str = "camhub";
/// The `component` of every binary package, fixed from the start: rebuildctl's
/// queue commands take it, and changing it later orphans old records.
pub const COMPONENT: &str = "main";
/// A release's build inputs, one per triple: `<release>/rebuilderd/<triple>.json`.
pub const INPUTS_DIR: &str = "rebuilderd";
/// Where the collector stores what the instances published, inside the
/// release: `attestations/rebuilderd/<instance>/<triple>/<bin>.link`.
pub const ATTESTATIONS_SUBDIR: &str = "rebuilderd";
/// A signed in-toto link as an instance served it.
pub const LINK_SUFFIX: &str = ".link";
/// An instance's BAD verdict on a binary (rebuilderd signs none).
pub const BAD_SUFFIX: &str = ".bad.json";

/// rebuilderd's `release` for a release of `target` and `profile`.
pub fn release_name(target: &str, profile: &str) -> String {
    format!("{target}-{profile}")
}

/// rebuilderd's source package name for a release of `target` and `profile`.
pub fn source_package_name(target: &str, profile: &str) -> String {
    format!("camhub-{target}-{profile}")
}
