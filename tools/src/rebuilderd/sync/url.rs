//! Syncing from published release folders by URL, so an operator feeds an
//! instance straight from the publisher's host without mirroring it.
//!
//! The build inputs cannot be written there, so each must already be served
//! and be exactly what `input::render` makes of the manifest served beside
//! it: the worker downloads that file, and a link naming any other material
//! would never count.

use anyhow::{Result, anyhow, bail};

use super::{Release, Source, Synced, check_url, encode_segment, inputs_of, release, reports};
use crate::manifest::{MANIFEST_FILE, MANIFEST_LIMIT};
use crate::rebuilderd::api::{Client, FetchError};
use crate::rebuilderd::{INPUTS_DIR, input};
use crate::style::escape_untrusted;

/// A served manifest larger than this is refused: its build input (which
/// holds it) could not be larger than [`input::INPUT_LIMIT`] anyway.
pub const SERVED_MANIFEST_LIMIT: u64 = if MANIFEST_LIMIT < input::INPUT_LIMIT {
    MANIFEST_LIMIT
} else {
    input::INPUT_LIMIT
};

/// Syncs the release folders published at `urls` (each holding
/// manifest.json and rebuilderd/<triple>.json); nothing is written.
/// `Synced::unchanged` counts the served build inputs checked.
pub fn sync_urls(urls: &[String], client: &Client) -> Result<Synced> {
    let mut releases: Vec<Release> = Vec::new();
    let mut checked = 0;
    for given in urls {
        let url = check_url(given, "--release-url")?;
        let manifest_url = format!("{url}/{MANIFEST_FILE}");
        let bytes = fetch(client, &manifest_url, SERVED_MANIFEST_LIMIT)?.ok_or_else(|| {
            anyhow!(
                "{manifest_url}: not found (HTTP 404); give the URL of a published release folder, the one holding {MANIFEST_FILE}"
            )
        })?;
        let release = release(url.clone(), url.clone(), bytes, &Source::Urls)?;
        for (triple, expected) in inputs_of(&release)? {
            let input_url = format!(
                "{url}/{INPUTS_DIR}/{}",
                encode_segment(&input::file_name(&triple))
            );
            match fetch(client, &input_url, input::INPUT_LIMIT)? {
                Some(served) if served == expected => checked += 1,
                Some(_) => bail!(
                    "{input_url}: not the build input of the {MANIFEST_FILE} served beside it (stale, or edited); the publisher runs `repro rebuilderd sync` on the release folder, which writes it again"
                ),
                None => bail!(
                    "{input_url}: not found (HTTP 404): the release serves no build input for {}; the publisher runs `repro rebuilderd sync` on the release folder, which writes it, and publishes it with the release",
                    escape_untrusted(&triple)
                ),
            }
        }
        releases.push(release);
    }
    Ok(Synced {
        reports: reports(&releases, &Source::Urls)?,
        releases: releases.into_iter().map(|r| r.url).collect(),
        written: Vec::new(),
        unchanged: checked,
    })
}

/// GET `url`; `None` for a 404. The errors speak of a release host, not of
/// a rebuilderd instance as [`FetchError`]'s own words do.
fn fetch(client: &Client, url: &str, limit: u64) -> Result<Option<Vec<u8>>> {
    client.get(url, limit).map_err(|e| match e {
        FetchError::Unreachable { url, tries, reason } => anyhow!(
            "{url}: unreachable after {tries} tr{} ({reason}); check the --release-url and that the release host is up",
            if tries == 1 { "y" } else { "ies" }
        ),
        FetchError::Status { url, status } => anyhow!(
            "{url}: the release host answered HTTP {status}; give the URL of a published release folder, the one holding {MANIFEST_FILE}"
        ),
        FetchError::Timeout { url, secs } => anyhow!(
            "{url}: no complete answer within {secs} s; try again, or give more time with --timeout"
        ),
        FetchError::TooLarge { url, limit } => anyhow!(
            "{url}: larger than {} KiB, far more than a release's file can be; refusing it",
            limit >> 10
        ),
        FetchError::Malformed { url, reason } => anyhow!("{url}: no usable answer ({reason})"),
    })
}
