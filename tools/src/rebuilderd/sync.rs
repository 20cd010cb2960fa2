//! What a rebuilderd instance is fed: for every live release served under
//! one base URL, the build input of each triple (written into the release
//! folder, so it is served with it) and one PackageReport per (release,
//! triple), the JSON `rebuildctl pkgs sync-stdin` reads. The same reports
//! come from releases published elsewhere, by URL ([`sync_urls`]).
//!
//! A report replaces everything rebuilderd knows of its (distribution,
//! release, architecture), so each lists every live version at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::{COMPONENT, DISTRIBUTION, INPUTS_DIR, input, release_name, source_package_name};
use crate::hashing::{self, HashError};
use crate::manifest::{MANIFEST_FILE, MANIFEST_LIMIT, Manifest};
use crate::style::escape_untrusted;

mod url;
pub use url::{SERVED_MANIFEST_LIMIT, sync_urls};

/// rebuilderd's `PackageReport` (common/src/api/v1/models/package.rs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageReport {
    pub distribution: String,
    pub release: Option<String>,
    pub architecture: String,
    pub packages: Vec<SourcePackageReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcePackageReport {
    pub name: String,
    pub version: String,
    /// The build input: `<base>/<folder>/rebuilderd/<triple>.json`.
    pub url: String,
    pub artifacts: Vec<BinaryPackageReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinaryPackageReport {
    pub name: String,
    pub version: String,
    pub component: Option<String>,
    pub architecture: String,
    pub url: String,
}

impl PackageReport {
    /// The file `--out` writes it to: `<distribution>-<release>-<triple>.json`.
    pub fn file_name(&self) -> String {
        format!(
            "{}-{}-{}.json",
            self.distribution,
            self.release.as_deref().unwrap_or_default(),
            self.architecture
        )
    }
}

/// What one sync found and did.
#[derive(Debug)]
pub struct Synced {
    /// One per (release, triple), sorted by both.
    pub reports: Vec<PackageReport>,
    /// Release folders with a manifest.json, by name (or by URL).
    pub releases: Vec<String>,
    /// Input files written because they were missing or different.
    pub written: Vec<PathBuf>,
    /// Input files that were already exactly right (by URL: served exactly right).
    pub unchanged: usize,
}

/// One live release: where it was read, where it is served, its manifest.
struct Release {
    /// Its folder's path or its URL, for messages.
    origin: String,
    /// The URL its folder is served at, without a trailing `/`.
    url: String,
    manifest_bytes: Vec<u8>,
    manifest: Manifest,
    version: semver::Version,
}

/// Where the releases of one sync come from: what leaving one out means.
enum Source<'a> {
    /// The release folders under this root.
    Folders(&'a Path),
    /// The release folders at the URLs given.
    Urls,
}

impl Source<'_> {
    /// How to drop one release from the sync.
    fn leave_out(&self) -> String {
        match self {
            Source::Folders(root) => format!("move the folder out of {}", root.display()),
            Source::Urls => "leave out its --release-url".to_owned(),
        }
    }

    /// How to keep only one of two releases.
    fn keep_one(&self) -> &'static str {
        match self {
            Source::Folders(_) => "remove one folder",
            Source::Urls => "give only one of the URLs",
        }
    }
}

/// Syncs every release folder directly under `root` (a subfolder holding
/// manifest.json), served at `<base_url>/<folder>/`.
pub fn sync(root: &Path, base_url: &str) -> Result<Synced> {
    let base = check_url(base_url, "--base-url")?;
    let releases = read_releases(root, &base)?;
    let mut inputs = Vec::new();
    for (folder, release) in &releases {
        let dir = root.join(folder).join(INPUTS_DIR);
        for (triple, input) in inputs_of(release)? {
            inputs.push((dir.clone(), dir.join(input::file_name(&triple)), input));
        }
    }
    // Before writing anything: a conflict leaves every folder as it was.
    let reports = reports(releases.iter().map(|(_, r)| r), &Source::Folders(root))?;
    let mut written = Vec::new();
    let mut unchanged = 0;
    for (dir, path, input) in inputs {
        if write_if_changed(&dir, &path, &input)? {
            written.push(path);
        } else {
            unchanged += 1;
        }
    }
    Ok(Synced {
        reports,
        releases: releases.into_iter().map(|(folder, _)| folder).collect(),
        written,
        unchanged,
    })
}

/// The build input of each of a release's triples.
fn inputs_of(release: &Release) -> Result<Vec<(String, Vec<u8>)>> {
    triples(&release.manifest)
        .into_iter()
        .map(|triple| {
            let input = input::render(&release.manifest_bytes, &triple)
                .with_context(|| format!("{}/{MANIFEST_FILE}", release.origin))?;
            Ok((triple, input))
        })
        .collect()
}

/// One report per (release, triple), each listing every version of it
/// among `releases`, sorted by both.
fn reports<'a>(
    releases: impl IntoIterator<Item = &'a Release>,
    source: &Source,
) -> Result<Vec<PackageReport>> {
    // (release name, triple) → version → the release it comes from.
    let mut live: BTreeMap<(String, String), BTreeMap<semver::Version, &Release>> = BTreeMap::new();
    for release in releases {
        let build = &release.manifest.build;
        for triple in triples(&release.manifest) {
            let versions = live
                .entry((release_name(&build.target, &build.profile), triple))
                .or_default();
            if let Some(other) = versions.get(&release.version) {
                if other.manifest_bytes != release.manifest_bytes {
                    bail!(
                        "{} and {} are both version {} of {}-{} but their manifests differ; a version names one release: {}, or build the other with another --release-version",
                        other.origin,
                        release.origin,
                        escape_untrusted(&release.version.to_string()),
                        escape_untrusted(&build.target),
                        escape_untrusted(&build.profile),
                        source.keep_one(),
                    );
                }
                // The same release served twice: the first one stands for it.
                continue;
            }
            versions.insert(release.version.clone(), release);
        }
    }
    let mut reports = Vec::new();
    for ((release, triple), versions) in &live {
        let mut packages = Vec::new();
        for release in versions.values() {
            packages.push(source_package(release, triple)?);
        }
        reports.push(PackageReport {
            distribution: DISTRIBUTION.to_owned(),
            release: Some(release.clone()),
            architecture: triple.clone(),
            packages,
        });
    }
    Ok(reports)
}

/// The distinct triples of a manifest's artifacts, sorted.
fn triples(manifest: &Manifest) -> Vec<String> {
    let mut triples: Vec<String> = manifest
        .artifacts
        .iter()
        .map(|a| a.target.clone())
        .collect();
    triples.sort();
    triples.dedup();
    triples
}

/// Reads every subfolder of `root` that holds a manifest.json, sorted by
/// name, each served at `<base>/<folder>`.
fn read_releases(root: &Path, base: &str) -> Result<Vec<(String, Release)>> {
    let entries = std::fs::read_dir(root).with_context(|| {
        format!(
            "{}: cannot read the folder; pass the folder whose subfolders are the served releases",
            root.display()
        )
    })?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("{}: cannot list", root.display()))?;
        // A symlink could make a release of any folder on the machine.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let name = entry.file_name();
        // Hidden folders are not served releases (a half-copied `.tmp`, `.git`).
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        if !root.join(&name).join(MANIFEST_FILE).exists() {
            continue;
        }
        let Some(name) = name.to_str().map(str::to_owned) else {
            bail!(
                "{}: a release folder's name is not UTF-8, so it cannot be part of a URL; rename it",
                root.join(&name).display()
            );
        };
        if name.chars().any(char::is_control) {
            bail!(
                "{}/{}: a release folder's name contains a control character; rename it",
                root.display(),
                escape_untrusted(&name)
            );
        }
        names.push(name);
    }
    names.sort();
    let source = Source::Folders(root);
    let mut releases = Vec::new();
    for folder in names {
        let path = root.join(&folder).join(MANIFEST_FILE);
        // A link would publish whatever it points to inside the build inputs.
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            bail!(
                "{}: not a regular file but a symlink; a release's {MANIFEST_FILE} must be a file in its folder",
                path.display()
            );
        }
        let manifest_bytes = match hashing::read_regular(&path, MANIFEST_LIMIT) {
            Ok(bytes) => bytes,
            Err(HashError::NotRegularFile) => bail!(
                "{}: not a regular file; a release's {MANIFEST_FILE} must be a file",
                path.display()
            ),
            Err(e) => bail!("{}: {e}", path.display()),
        };
        let origin = root.join(&folder).display().to_string();
        let url = format!("{base}/{}", encode_segment(&folder));
        let release = release(origin, url, manifest_bytes, &source)?;
        releases.push((folder, release));
    }
    Ok(releases)
}

/// A release from its manifest's bytes, if rebuilderd can be fed it.
fn release(
    origin: String,
    url: String,
    manifest_bytes: Vec<u8>,
    source: &Source,
) -> Result<Release> {
    let path = format!("{origin}/{MANIFEST_FILE}");
    let manifest = Manifest::parse(&manifest_bytes).with_context(|| path.clone())?;
    for artifact in &manifest.artifacts {
        // The worker saves each download under its URL's last segment, and
        // the backend writes the rebuilt file under the same name.
        if artifact.bin_path != format!("{}/{}", artifact.target, artifact.bin)
            || crate::layout::check(artifact).is_err()
        {
            bail!(
                "{path}: artifact `{}` has bin_path `{}`; a rebuilderd release needs <triple>/<bin> with plain names (the layout repro build and the Nix folders write)",
                escape_untrusted(&artifact.display_key()),
                escape_untrusted(&artifact.bin_path)
            );
        }
    }
    let version = match (&manifest.build.version, &manifest.build.source_rev) {
        (Some(version), Some(_)) => semver::Version::parse(version).map_err(|e| {
            anyhow::anyhow!(
                "{path}: build.version `{}` is not a semantic version ({e}); build the release again with a valid --release-version",
                escape_untrusted(version)
            )
        })?,
        (None, _) => bail!(
            "{path}: the manifest names no release version (build.version), so rebuilderd cannot list it; build the release again with this repro (repro build, or repro manifest --release-version), or {}",
            source.leave_out()
        ),
        (_, None) => bail!(
            "{path}: the manifest names no source revision (build.source_rev): it was built from a tree with uncommitted changes or without git, which nobody can rebuild; commit, build the release again, or {}",
            source.leave_out()
        ),
    };
    Ok(Release {
        origin,
        url,
        manifest_bytes,
        manifest,
        version,
    })
}

/// The source package of one release for one triple.
fn source_package(release: &Release, triple: &str) -> Result<SourcePackageReport> {
    let build = &release.manifest.build;
    let version = build.version.clone().expect("checked when read");
    let folder = &release.url;
    let input_name = input::file_name(triple);
    let mut artifacts = Vec::new();
    for artifact in release
        .manifest
        .artifacts
        .iter()
        .filter(|a| a.target == triple)
    {
        if artifact.bin == input_name {
            bail!(
                "{}: binary `{}` has the name of the build input; the worker would download both to one file",
                release.origin,
                escape_untrusted(&artifact.bin)
            );
        }
        artifacts.push(BinaryPackageReport {
            name: artifact.bin.clone(),
            version: version.clone(),
            component: Some(COMPONENT.to_owned()),
            architecture: triple.to_owned(),
            url: format!(
                "{folder}/{}/{}",
                encode_segment(&artifact.target),
                encode_segment(&artifact.bin)
            ),
        });
    }
    artifacts.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(pair) = artifacts.windows(2).find(|p| p[0].name == p[1].name) {
        bail!(
            "{}: two artifacts for {triple} are named `{}`; the worker downloads each under its name",
            release.origin,
            escape_untrusted(&pair[0].name)
        );
    }
    Ok(SourcePackageReport {
        name: source_package_name(&build.target, &build.profile),
        version,
        url: format!("{folder}/{INPUTS_DIR}/{}", encode_segment(&input_name)),
        artifacts,
    })
}

/// A folder URL as given to `flag`, without a trailing slash; only http(s)
/// and printable ASCII (so it can be printed as it is).
fn check_url(url: &str, flag: &str) -> Result<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && url.bytes().all(|b| b.is_ascii_graphic()) => {}
        _ => bail!(
            "{flag} `{}` is not an http:// or https:// URL; give the URL of the folder, e.g. https://example.org/releases",
            escape_untrusted(url)
        ),
    }
    if url.contains(['?', '#']) {
        bail!(
            "{flag} `{}` has a query or fragment; give the folder URL alone",
            escape_untrusted(url)
        );
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Percent-encodes one path segment: everything but RFC 3986's unreserved
/// characters, so a name can neither add a segment (`/`), climb (`..` stays
/// literal but `/` cannot follow it), nor start a query.
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    // `.` and `..` alone are resolved away by URL parsers.
    match out.as_str() {
        "." => "%2E".to_owned(),
        ".." => "%2E%2E".to_owned(),
        _ => out,
    }
}

/// Writes `bytes` to `path` atomically unless it already holds exactly them;
/// true when it wrote.
fn write_if_changed(dir: &Path, path: &Path, bytes: &[u8]) -> Result<bool> {
    match hashing::read_regular(path, input::INPUT_LIMIT) {
        Ok(old) if old == bytes => return Ok(false),
        Ok(_) | Err(HashError::Missing) => {}
        // Anything else there (a folder, a symlink) is not ours to replace.
        Err(e) => bail!(
            "{}: {e}; remove it, sync writes the build input there",
            path.display()
        ),
    }
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => bail!(
            "{}: not a folder; remove it, sync writes the build inputs there",
            dir.display()
        ),
        Err(_) => {
            std::fs::create_dir(dir).with_context(|| format!("{}: cannot create", dir.display()))?
        }
    }
    crate::atomic::write(path, bytes, 0o644)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cannot_escape_their_place_in_the_url() {
        assert_eq!(encode_segment("rel-1.2_3~x"), "rel-1.2_3~x");
        assert_eq!(encode_segment("a/b"), "a%2Fb");
        assert_eq!(encode_segment(".."), "%2E%2E");
        assert_eq!(encode_segment("x?y#z w"), "x%3Fy%23z%20w");
        assert_eq!(encode_segment("é"), "%C3%A9");
    }

    #[test]
    fn base_urls_are_http_folders() {
        assert_eq!(
            check_url("http://h:1/rel/", "--base-url").unwrap(),
            "http://h:1/rel"
        );
        for bad in [
            "ftp://h/",
            "h/rel",
            "http://",
            "http://h/a b",
            "http://h/?x=1",
        ] {
            assert!(check_url(bad, "--base-url").is_err(), "{bad}");
        }
    }
}
