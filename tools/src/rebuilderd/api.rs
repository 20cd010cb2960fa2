//! Reading a rebuilderd instance's HTTP API (`/api/v1/...`): the client
//! behind `repro rebuilderd key`, `collect` and `status`.
//!
//! An instance is someone else's server: every request has a connect and an
//! overall deadline, every body a size bound, and a reply is only data to
//! check. Connection failures and 5xx answers are retried a few times with a
//! growing pause, because a daemon restarting or a proxy hiccup should not
//! fail a collect run; a 4xx or a timeout is answered at once.

use std::fmt;
use std::thread::sleep;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use ureq::Agent;

use crate::style::escape_untrusted;

/// A link (one in-toto Metablock) larger than this is refused: rebuilderd's
/// are about 1 KiB.
pub const LINK_LIMIT: u64 = 1 << 20;
/// A JSON list (packages, queue, keys) larger than this is refused.
pub const LIST_LIMIT: u64 = 16 << 20;
/// The default overall deadline of one request, body included.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;
/// The default number of retries after a connection failure or a 5xx.
pub const DEFAULT_RETRIES: u32 = 3;
/// The longest a connection may take to open, whatever the overall deadline.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The first pause before a retry; it doubles each time, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// Why a request gave nothing usable. Each names the URL and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// No connection, or a 5xx, on every try.
    Unreachable {
        url: String,
        tries: u32,
        reason: String,
    },
    /// Any other answer than 200 or 404.
    Status { url: String, status: u16 },
    /// The whole request took longer than the deadline.
    Timeout { url: String, secs: u64 },
    /// The body was larger than the bound.
    TooLarge { url: String, limit: u64 },
    /// The body is not what this endpoint returns.
    Malformed { url: String, reason: String },
}

impl FetchError {
    /// Whether the instance could not be reached at all (so asking it more
    /// questions in this run is pointless).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, FetchError::Unreachable { .. })
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Unreachable { url, tries, reason } => write!(
                f,
                "{url}: unreachable after {tries} tr{} ({reason}); check that the rebuilderd daemon runs and that the instance's url is right",
                if *tries == 1 { "y" } else { "ies" }
            ),
            FetchError::Status { url, status } => write!(
                f,
                "{url}: the instance answered HTTP {status}; is this a rebuilderd 0.28 API root?"
            ),
            FetchError::Timeout { url, secs } => write!(
                f,
                "{url}: no complete answer within {secs} s; try again, or give more time with --timeout"
            ),
            FetchError::TooLarge { url, limit } => write!(
                f,
                "{url}: the answer is larger than {} KiB, far more than rebuilderd sends; refusing it",
                limit >> 10
            ),
            FetchError::Malformed { url, reason } => write!(
                f,
                "{url}: not a rebuilderd answer ({reason}); is this a rebuilderd 0.28 API root?"
            ),
        }
    }
}

impl std::error::Error for FetchError {}

/// An instance's API, reached through one agent with fixed deadlines.
pub struct Client {
    agent: Agent,
    timeout: Duration,
    retries: u32,
}

impl Client {
    /// A client whose every request (body included) ends within `timeout`,
    /// retried up to `retries` times after a connection failure or a 5xx.
    pub fn new(timeout: Duration, retries: u32) -> Client {
        let agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(CONNECT_TIMEOUT)))
            .user_agent(concat!("repro/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client {
            agent,
            timeout,
            retries,
        }
    }

    /// The body of GET `url` (at most `limit` bytes); `None` for a 404.
    pub fn get(&self, url: &str, limit: u64) -> Result<Option<Vec<u8>>, FetchError> {
        let mut pause = FIRST_BACKOFF;
        let mut tries = 0;
        loop {
            tries += 1;
            let reason = match self.get_once(url, limit) {
                Attempt::Done(result) => return result,
                Attempt::Retry(reason) => reason,
            };
            if tries > self.retries {
                return Err(FetchError::Unreachable {
                    url: url.to_owned(),
                    tries,
                    reason,
                });
            }
            sleep(pause);
            pause = (pause * 2).min(MAX_BACKOFF);
        }
    }

    /// GET `url` as JSON of type `T`; `None` for a 404.
    pub fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        limit: u64,
    ) -> Result<Option<T>, FetchError> {
        let Some(body) = self.get(url, limit)? else {
            return Ok(None);
        };
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| FetchError::Malformed {
                url: url.to_owned(),
                reason: format!("not the JSON expected: {e}"),
            })
    }

    fn get_once(&self, url: &str, limit: u64) -> Attempt {
        let timeout = |url: &str| FetchError::Timeout {
            url: url.to_owned(),
            secs: self.timeout.as_secs().max(1),
        };
        let mut response = match self.agent.get(url).call() {
            Ok(response) => response,
            Err(ureq::Error::Timeout(_)) => return Attempt::Done(Err(timeout(url))),
            Err(e @ (ureq::Error::BadUri(_) | ureq::Error::Http(_))) => {
                return Attempt::Done(Err(FetchError::Malformed {
                    url: url.to_owned(),
                    reason: format!("not a usable URL: {e}"),
                }));
            }
            // Worth another try: the daemon restarting, a proxy or the network hiccuping.
            Err(
                e
                @ (ureq::Error::ConnectionFailed | ureq::Error::HostNotFound | ureq::Error::Io(_)),
            ) => return Attempt::Retry(escape_untrusted(&e.to_string())),
            Err(e) => {
                return Attempt::Done(Err(FetchError::Malformed {
                    url: url.to_owned(),
                    reason: escape_untrusted(&e.to_string()),
                }));
            }
        };
        let status = response.status().as_u16();
        match status {
            200 => {}
            404 => return Attempt::Done(Ok(None)),
            500..=599 => return Attempt::Retry(format!("HTTP {status}")),
            _ => {
                return Attempt::Done(Err(FetchError::Status {
                    url: url.to_owned(),
                    status,
                }));
            }
        }
        let too_large = || FetchError::TooLarge {
            url: url.to_owned(),
            limit,
        };
        if response.body().content_length().is_some_and(|n| n > limit) {
            return Attempt::Done(Err(too_large()));
        }
        match response.body_mut().with_config().limit(limit).read_to_vec() {
            Ok(body) => Attempt::Done(Ok(Some(body))),
            Err(ureq::Error::BodyExceedsLimit(_)) => Attempt::Done(Err(too_large())),
            Err(ureq::Error::Timeout(_)) => Attempt::Done(Err(timeout(url))),
            Err(e) => Attempt::Done(Err(FetchError::Malformed {
                url: url.to_owned(),
                reason: format!("the body broke off: {}", escape_untrusted(&e.to_string())),
            })),
        }
    }
}

enum Attempt {
    Done(Result<Option<Vec<u8>>, FetchError>),
    Retry(String),
}

/// The network options of every subcommand that asks instances.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// Seconds one request may take, body included, before it is given up.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// How many times to try again after a connection failure or a 5xx answer.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_RETRIES, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,
}

impl ClientArgs {
    pub fn client(&self) -> Client {
        Client::new(Duration::from_secs(self.timeout), self.retries)
    }
}

/// Checks an instance's address as the user gave it: `http://` or
/// `https://` and a host; returns it without a trailing `/`.
pub fn base_url(url: &str) -> anyhow::Result<String> {
    let shown = escape_untrusted(url);
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "`{shown}` is not an instance address: write http://HOST[:PORT] or https://HOST[:PORT], the root rebuilderd serves /api/v1 under"
            )
        })?;
    if rest.is_empty()
        || rest.starts_with('/')
        || rest.contains(['?', '#'])
        || rest.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        anyhow::bail!(
            "`{shown}` is not an instance address: write http://HOST[:PORT] (no query, no spaces)"
        );
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// `base` + `path` + the query, each value percent-encoded.
pub fn url(base: &str, path: &str, query: &[(&str, &str)]) -> String {
    let mut url = format!("{base}{path}");
    for (i, (key, value)) in query.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(key);
        url.push('=');
        for b in value.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                url.push(b as char);
            } else {
                url.push_str(&format!("%{b:02X}"));
            }
        }
    }
    url
}

/// A page of records, as every rebuilderd list endpoint answers.
#[derive(Debug, Deserialize)]
pub struct ResultPage<T> {
    pub total: i64,
    pub records: Vec<T>,
}

/// One binary package record (`GET /api/v1/packages/binary`); only the
/// fields read here.
#[derive(Debug, Clone, Deserialize)]
pub struct BinaryPackage {
    pub id: i64,
    pub name: String,
    pub version: String,
    pub distribution: String,
    pub release: Option<String>,
    pub architecture: String,
    /// GOOD, BAD or UNKWN; absent before the first rebuild.
    pub status: Option<String>,
    pub build_id: Option<i64>,
    pub artifact_id: Option<i64>,
}

/// One job of the queue (`GET /api/v1/queue`).
#[derive(Debug, Clone, Deserialize)]
pub struct QueuedJob {
    pub name: String,
    pub version: String,
    pub distribution: String,
    pub release: Option<String>,
    pub architecture: String,
    /// Set once a worker took the job.
    pub started_at: Option<String>,
    /// No worker gets the job before this (UTC); set after a failed try.
    #[serde(default)]
    pub next_retry: Option<String>,
}

/// `GET /api/v1/meta/public-keys`.
#[derive(Debug, Deserialize)]
pub struct PublicKeys {
    pub current: Vec<String>,
}

/// What identifies one binary of one release on an instance.
#[derive(Debug, Clone, Copy)]
pub struct BinaryQuery<'a> {
    pub release: &'a str,
    pub version: &'a str,
    pub triple: &'a str,
    pub bin: &'a str,
}

impl Client {
    /// The instance's record of this binary: the one whose distribution,
    /// release, name, version and architecture are exactly these (a server
    /// that ignores a filter cannot slip another one in); the latest if
    /// several. `None` when the instance has none.
    pub fn binary_package(
        &self,
        base: &str,
        q: BinaryQuery<'_>,
    ) -> Result<Option<BinaryPackage>, FetchError> {
        let url = url(
            base,
            "/api/v1/packages/binary",
            &[
                ("distribution", super::DISTRIBUTION),
                ("release", q.release),
                ("name", q.bin),
                ("version", q.version),
                ("architecture", q.triple),
            ],
        );
        let Some(page) = self.get_json::<ResultPage<BinaryPackage>>(&url, LIST_LIMIT)? else {
            return Err(FetchError::Status { url, status: 404 });
        };
        Ok(page
            .records
            .into_iter()
            .filter(|r| {
                r.distribution == super::DISTRIBUTION
                    && r.release.as_deref() == Some(q.release)
                    && r.name == q.bin
                    && r.version == q.version
                    && r.architecture == q.triple
            })
            .max_by_key(|r| (r.build_id, r.id)))
    }

    /// The instance's queued and running jobs of one release.
    pub fn queue(&self, base: &str, release: &str) -> Result<Vec<QueuedJob>, FetchError> {
        let url = url(
            base,
            "/api/v1/queue",
            &[("distribution", super::DISTRIBUTION), ("release", release)],
        );
        match self.get_json::<ResultPage<QueuedJob>>(&url, LIST_LIMIT)? {
            Some(page) => Ok(page
                .records
                .into_iter()
                .filter(|j| {
                    j.distribution == super::DISTRIBUTION && j.release.as_deref() == Some(release)
                })
                .collect()),
            None => Err(FetchError::Status { url, status: 404 }),
        }
    }

    /// The signed link of a GOOD artifact, as served (at most [`LINK_LIMIT`]);
    /// `None` when the instance has none for it.
    pub fn attestation(
        &self,
        base: &str,
        build_id: i64,
        artifact_id: i64,
    ) -> Result<Option<Vec<u8>>, FetchError> {
        self.get(
            &format!("{base}/api/v1/builds/{build_id}/artifacts/{artifact_id}/attestation"),
            LINK_LIMIT,
        )
    }

    /// The daemon's current signing keys, as PEM texts.
    pub fn public_keys(&self, base: &str) -> Result<Vec<String>, FetchError> {
        let url = format!("{base}/api/v1/meta/public-keys");
        match self.get_json::<PublicKeys>(&url, LINK_LIMIT)? {
            Some(keys) => Ok(keys.current),
            None => Err(FetchError::Status { url, status: 404 }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_encoded() {
        assert_eq!(base_url("http://h:1/").unwrap(), "http://h:1");
        assert_eq!(
            base_url("https://r.example/rb").unwrap(),
            "https://r.example/rb"
        );
        for bad in ["h:1", "ftp://h", "http://", "http://h/?x", "http://h x"] {
            assert!(base_url(bad).is_err(), "{bad}");
        }
        assert_eq!(
            url("http://h", "/p", &[("a", "x y&z"), ("b", "1.2-3")]),
            "http://h/p?a=x%20y%26z&b=1.2-3"
        );
    }
}
