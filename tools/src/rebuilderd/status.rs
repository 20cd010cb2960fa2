//! `repro rebuilderd status`: where each instance stands on each artifact
//! of some releases, side by side. A view of the instances' own words: it
//! fetches no link and checks no signature (collect and verify do).

use serde::{Deserialize, Serialize};

use super::api::{BinaryQuery, Client, FetchError, QueuedJob};
use super::release::{Instance, Release};
use crate::style::escape_untrusted;

/// An instance's state for one artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    /// Rebuilt, identical: a signed link is there to collect.
    Good,
    /// Rebuilt, different.
    Bad,
    /// Waiting for a worker.
    Queued,
    /// A worker has it.
    Building,
    /// Known but not rebuilt and not queued, or not synced at all.
    Unknown,
    /// No connection (or only 5xx) after every retry.
    Unreachable,
    /// An answer that is no rebuilderd answer.
    Error,
}

impl State {
    pub fn word(self) -> &'static str {
        match self {
            State::Good => "GOOD",
            State::Bad => "BAD",
            State::Queued => "QUEUED",
            State::Building => "BUILDING",
            State::Unknown => "UNKNOWN",
            State::Unreachable => "UNREACHABLE",
            State::Error => "ERROR",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    pub instance: String,
    pub state: State,
    /// The rebuild the verdict comes from (GOOD, BAD).
    pub build_id: Option<i64>,
    /// Why, for UNKNOWN, UNREACHABLE and ERROR, and for QUEUED after a failed build.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArtifactStatus {
    pub triple: String,
    pub bin: String,
    /// One per instance, in the order the instances were given.
    pub instances: Vec<Cell>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReleaseStatus {
    /// The release folder as given.
    pub path: String,
    /// rebuilderd's release: `<target>-<profile>`.
    pub release: String,
    pub version: String,
    pub artifacts: Vec<ArtifactStatus>,
}

/// Asks every instance about every artifact of `release`. Per instance:
/// one queue request, then one record request per artifact.
pub fn status(release: &Release, instances: &[Instance], client: &Client) -> ReleaseStatus {
    let mut artifacts: Vec<ArtifactStatus> = release
        .artifacts
        .iter()
        .map(|a| ArtifactStatus {
            triple: a.triple.clone(),
            bin: a.bin.clone(),
            instances: Vec::new(),
        })
        .collect();
    for instance in instances {
        let queue = client.queue(&instance.url, &release.name);
        for (artifact, row) in release.artifacts.iter().zip(&mut artifacts) {
            let cell = match &queue {
                Err(e) => failed(instance, e),
                Ok(queue) => {
                    let query = BinaryQuery {
                        release: &release.name,
                        version: &release.version,
                        triple: &artifact.triple,
                        bin: &artifact.bin,
                    };
                    match client.binary_package(&instance.url, query) {
                        Err(e) => failed(instance, &e),
                        Ok(record) => {
                            let (status, build_id) = record
                                .as_ref()
                                .map_or((None, None), |r| (r.status.as_deref(), r.build_id));
                            let job = queue.iter().find(|j: &&QueuedJob| {
                                j.name == release.source_name
                                    && j.version == release.version
                                    && j.architecture == artifact.triple
                            });
                            let (state, detail) = match (status, job) {
                                (Some("GOOD"), _) => (State::Good, None),
                                (Some("BAD"), _) => (State::Bad, None),
                                (_, Some(j)) if j.started_at.is_some() => (State::Building, None),
                                // A record with a build but no verdict: that
                                // build failed (say, the release's files were
                                // not served yet), and rebuilderd waits hours
                                // before the next try.
                                (None, Some(j)) if build_id.is_some() => (
                                    State::Queued,
                                    Some(format!(
                                        "{}: {}/{}: build {} failed (its log: rebuildctl pkgs log); queued again{}; `rebuildctl queue push` retries now",
                                        instance.name,
                                        escape_untrusted(&artifact.triple),
                                        escape_untrusted(&artifact.bin),
                                        build_id.unwrap_or_default(),
                                        j.next_retry
                                            .as_deref()
                                            .map(|t| format!(
                                                ", not before {} UTC",
                                                escape_untrusted(t)
                                            ))
                                            .unwrap_or_default()
                                    )),
                                ),
                                (_, Some(_)) => (State::Queued, None),
                                (Some(other), None) => (
                                    State::Unknown,
                                    Some(format!("status {}, not queued", escape_untrusted(other))),
                                ),
                                (None, None) if record.is_some() => {
                                    (State::Unknown, Some("not rebuilt, not queued".to_owned()))
                                }
                                (None, None) => (
                                    State::Unknown,
                                    Some("not synced to this instance".to_owned()),
                                ),
                            };
                            Cell {
                                instance: instance.name.clone(),
                                state,
                                build_id: build_id
                                    .filter(|_| matches!(state, State::Good | State::Bad)),
                                detail,
                            }
                        }
                    }
                }
            };
            row.instances.push(cell);
        }
    }
    ReleaseStatus {
        path: release.dir.display().to_string(),
        release: release.name.clone(),
        version: release.version.clone(),
        artifacts,
    }
}

fn failed(instance: &Instance, e: &FetchError) -> Cell {
    Cell {
        instance: instance.name.clone(),
        state: if e.is_unreachable() {
            State::Unreachable
        } else {
            State::Error
        },
        build_id: None,
        detail: Some(e.to_string()),
    }
}
