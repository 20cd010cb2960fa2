//! The release matrix: `[workspace.metadata.repro]` in the workspace's
//! Cargo.toml, read here through cargo_metadata and by the Nix flake through
//! `builtins.fromTOML`. This module turns a target and profile into the list of
//! (package, triple, crate, features, bin) to build.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::portable::GlibcVersion;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matrix {
    pub targets: BTreeMap<String, Target>,
    pub packages: BTreeMap<String, Package>,
    /// The oldest glibc the released binaries must run on (`repro portable`).
    pub glibc_floor: GlibcVersion,
    /// The deterministic build settings; `repro build` requires them.
    #[serde(default)]
    pub reproducible: Option<Reproducible>,
}

/// Flags with `{workspace}`, `{cargo_home}` and `{target_dir}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reproducible {
    pub rustflags: Vec<String>,
    pub cflags: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// What only `repro build` (cargo outside Nix) needs; Nix gets its
    /// compilers from flake.lock and crane.
    #[serde(default)]
    pub cargo: CargoSettings,
}

/// `cargo.*` of [workspace.metadata.repro.reproducible]: see build::toolchain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CargoSettings {
    /// Compilers tried for a triple whose standard library the compiler of
    /// rust-toolchain.toml lacks.
    #[serde(default)]
    pub rustc_fallbacks: Vec<PathBuf>,
    /// Triple → the prefix of its C cross toolchain (`<prefix>gcc`), used
    /// when the triple is not the build machine's.
    #[serde(default)]
    pub cross_prefix: BTreeMap<String, String>,
}

/// The real paths a build's placeholders stand for.
pub struct BuildPaths<'a> {
    pub workspace: &'a Path,
    pub cargo_home: &'a Path,
    pub target_dir: &'a Path,
}

impl Reproducible {
    fn expand(flags: &[String], paths: &BuildPaths) -> Vec<String> {
        flags
            .iter()
            .map(|f| {
                f.replace("{workspace}", &paths.workspace.display().to_string())
                    .replace("{cargo_home}", &paths.cargo_home.display().to_string())
                    .replace("{target_dir}", &paths.target_dir.display().to_string())
            })
            .collect()
    }

    pub fn rustflags(&self, paths: &BuildPaths) -> Vec<String> {
        Self::expand(&self.rustflags, paths)
    }

    pub fn cflags(&self, paths: &BuildPaths) -> Vec<String> {
        Self::expand(&self.cflags, paths)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub triples: Vec<String>,
    pub profiles: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    #[serde(rename = "crate")]
    pub crate_name: String,
    pub features: Vec<String>,
    /// The released file name under `<triple>/`.
    pub bin: String,
    /// The name of the binary cargo produces; the crate name when absent.
    #[serde(default)]
    pub cargo_bin: Option<String>,
    /// The triples this package exists for; every triple of the target when absent.
    #[serde(default)]
    pub triples: Option<Vec<String>>,
}

/// One binary to build and ship.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedArtifact {
    pub package: String,
    pub triple: String,
    #[serde(rename = "crate")]
    pub crate_name: String,
    pub features: Vec<String>,
    pub cargo_bin: String,
    pub bin: String,
}

impl PlannedArtifact {
    /// Where the binary lives inside a build folder.
    pub fn bin_path(&self) -> String {
        format!("{}/{}", self.triple, self.bin)
    }
}

/// A package of the profile that is not built for one of the target's triples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub package: String,
    pub triple: String,
    pub only_for: Vec<String>,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SKIP {} for {} (built only for {})",
            self.package,
            self.triple,
            self.only_for.join(", ")
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub target: String,
    pub profile: String,
    pub triples: Vec<String>,
    pub artifacts: Vec<PlannedArtifact>,
    pub skipped: Vec<Skipped>,
}

impl Matrix {
    /// Reads the matrix from a workspace's metadata (the `repro` table).
    pub fn from_workspace_metadata(metadata: &serde_json::Value) -> Result<Matrix> {
        let table = metadata
            .get("repro")
            .context("no [workspace.metadata.repro] table; the release matrix lives there")?;
        // Checked first, so a missing or malformed floor gets its own words
        // rather than serde's.
        match table.get("glibc_floor") {
            None => bail!(
                "[workspace.metadata.repro] has no glibc_floor; add the oldest glibc the released binaries must run on, e.g. glibc_floor = \"2.36\""
            ),
            Some(serde_json::Value::String(text)) => {
                text.parse::<GlibcVersion>().map_err(|why| {
                    anyhow::anyhow!("[workspace.metadata.repro] glibc_floor: {why}")
                })?;
            }
            Some(other) => bail!(
                "[workspace.metadata.repro] glibc_floor must be a string such as \"2.36\", not {other}"
            ),
        }
        let matrix: Matrix = serde_json::from_value(table.clone())
            .context("[workspace.metadata.repro] is not a valid release matrix")?;
        matrix.check()?;
        Ok(matrix)
    }

    fn check(&self) -> Result<()> {
        let known_triples: BTreeSet<&String> =
            self.targets.values().flat_map(|t| &t.triples).collect();
        for (name, target) in &self.targets {
            if target.triples.is_empty() {
                bail!("[workspace.metadata.repro] target `{name}` lists no triples");
            }
            for (profile, packages) in &target.profiles {
                for package in packages {
                    if !self.packages.contains_key(package) {
                        bail!(
                            "[workspace.metadata.repro] profile {name}-{profile} names package `{package}`, which has no [workspace.metadata.repro.packages.{package}] entry"
                        );
                    }
                }
            }
        }
        let mut bins = BTreeMap::new();
        for (name, package) in &self.packages {
            for part in [name, &package.crate_name, &package.bin] {
                if !is_plain_name(part) {
                    bail!(
                        "[workspace.metadata.repro] package `{name}`: `{part}` must be a plain file name"
                    );
                }
            }
            for triple in package.triples.iter().flatten() {
                if !known_triples.contains(triple) {
                    bail!(
                        "[workspace.metadata.repro] package `{name}` names triple `{triple}`, which no target builds"
                    );
                }
            }
            if let Some(other) = bins.insert(&package.bin, name) {
                bail!(
                    "[workspace.metadata.repro] packages `{other}` and `{name}` both ship a binary named `{}`; released names must be distinct",
                    package.bin
                );
            }
        }
        Ok(())
    }

    /// Every valid `<target>-<profile>` pair, sorted.
    pub fn valid_pairs(&self) -> Vec<String> {
        self.targets
            .iter()
            .flat_map(|(t, target)| target.profiles.keys().map(move |p| format!("{t}-{p}")))
            .collect()
    }

    /// Resolves a target and profile to the artifacts to build, in a fixed order:
    /// triples as the target lists them, packages as the profile lists them.
    pub fn plan(&self, target: &str, profile: &str) -> Result<Plan> {
        let packages = self
            .targets
            .get(target)
            .and_then(|t| t.profiles.get(profile))
            .with_context(|| {
                format!(
                    "`{target}` with profile `{profile}` is not in the release matrix; valid target-profile pairs: {}",
                    self.valid_pairs().join(", ")
                )
            })?;
        let triples = self.targets[target].triples.clone();
        let mut artifacts = Vec::new();
        let mut skipped = Vec::new();
        for triple in &triples {
            for name in packages {
                let package = &self.packages[name];
                if let Some(only) = &package.triples
                    && !only.contains(triple)
                {
                    skipped.push(Skipped {
                        package: name.clone(),
                        triple: triple.clone(),
                        only_for: only.clone(),
                    });
                    continue;
                }
                artifacts.push(PlannedArtifact {
                    package: name.clone(),
                    triple: triple.clone(),
                    crate_name: package.crate_name.clone(),
                    features: package.features.clone(),
                    cargo_bin: package
                        .cargo_bin
                        .clone()
                        .unwrap_or_else(|| package.crate_name.clone()),
                    bin: package.bin.clone(),
                });
            }
        }
        Ok(Plan {
            target: target.to_owned(),
            profile: profile.to_owned(),
            triples,
            artifacts,
            skipped,
        })
    }
}

/// A single path component that cannot climb out of, or hide in, a folder.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !name.starts_with('.')
}

/// The workspace `repro` works in: its root, its lock file, its member crates
/// and the release matrix.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub manifest_path: PathBuf,
    pub matrix: Matrix,
    /// Member crate name → version.
    pub members: BTreeMap<String, String>,
}

impl Workspace {
    /// Loads the workspace whose Cargo.toml is `manifest_path`, or the one
    /// around the current folder. Runs `cargo metadata --no-deps`, which needs
    /// no network.
    pub fn load(manifest_path: Option<&Path>) -> Result<Workspace> {
        let mut cmd = cargo_metadata::MetadataCommand::new();
        cmd.no_deps();
        if let Some(path) = manifest_path {
            let path = if path.is_dir() {
                path.join("Cargo.toml")
            } else {
                path.to_owned()
            };
            cmd.manifest_path(path);
        }
        let metadata = cmd.exec().context(
            "cannot read the workspace with `cargo metadata --no-deps`; run inside the workspace or pass --workspace <path to Cargo.toml>",
        )?;
        let root: PathBuf = metadata.workspace_root.clone().into();
        let manifest_path = root.join("Cargo.toml");
        let matrix = Matrix::from_workspace_metadata(&metadata.workspace_metadata)
            .with_context(|| format!("{}", manifest_path.display()))?;
        let members = metadata
            .workspace_packages()
            .into_iter()
            .map(|p| (p.name.to_string(), p.version.to_string()))
            .collect();
        Ok(Workspace {
            root,
            manifest_path,
            matrix,
            members,
        })
    }

    pub fn lock_path(&self) -> PathBuf {
        self.root.join("Cargo.lock")
    }

    /// The version of a member crate, or an error saying the matrix names a
    /// crate the workspace does not have.
    pub fn crate_version(&self, crate_name: &str, package: &str) -> Result<&str> {
        self.members.get(crate_name).map(String::as_str).with_context(|| {
            format!(
                "{}: package `{package}` of the release matrix is built from crate `{crate_name}`, which is not a member of this workspace; add the crate to [workspace] members, or choose a target and profile that do not ship `{package}`",
                self.manifest_path.display()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(json: serde_json::Value) -> Result<Matrix> {
        Matrix::from_workspace_metadata(&serde_json::json!({ "repro": json }))
    }

    fn small() -> serde_json::Value {
        serde_json::json!({
            "glibc_floor": "2.36",
            "targets": {
                "t": { "triples": ["x", "y"], "profiles": { "p": ["a", "b"] } }
            },
            "packages": {
                "a": { "crate": "ca", "features": ["f"], "bin": "bin-a" },
                "b": { "crate": "cb", "features": [], "bin": "bin-b", "triples": ["y"], "cargo_bin": "cb-main" }
            }
        })
    }

    #[test]
    fn plan_orders_by_triple_then_profile_and_skips_other_triples() {
        let plan = matrix(small()).unwrap().plan("t", "p").unwrap();
        let got: Vec<_> = plan
            .artifacts
            .iter()
            .map(|a| {
                (
                    a.package.as_str(),
                    a.triple.as_str(),
                    a.cargo_bin.as_str(),
                    a.bin_path(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("a", "x", "ca", "x/bin-a".to_owned()),
                ("a", "y", "ca", "y/bin-a".to_owned()),
                ("b", "y", "cb-main", "y/bin-b".to_owned()),
            ]
        );
        assert_eq!(plan.skipped.len(), 1);
        assert_eq!(
            plan.skipped[0].to_string(),
            "SKIP b for x (built only for y)"
        );
    }

    #[test]
    fn invalid_pair_lists_the_valid_ones() {
        let err = matrix(small()).unwrap().plan("t", "q").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`t` with profile `q` is not in the release matrix; valid target-profile pairs: t-p"
        );
    }

    #[test]
    fn rejects_unknown_package_duplicate_bins_and_path_like_names() {
        let mut m = small();
        m["targets"]["t"]["profiles"]["p"] = serde_json::json!(["a", "zz"]);
        assert!(format!("{:#}", matrix(m).unwrap_err()).contains("names package `zz`"));

        let mut m = small();
        m["packages"]["b"]["bin"] = serde_json::json!("bin-a");
        assert!(
            format!("{:#}", matrix(m).unwrap_err()).contains("both ship a binary named `bin-a`")
        );

        let mut m = small();
        m["packages"]["b"]["bin"] = serde_json::json!("../evil");
        assert!(format!("{:#}", matrix(m).unwrap_err()).contains("must be a plain file name"));

        let mut m = small();
        m["packages"]["b"]["triples"] = serde_json::json!(["z"]);
        assert!(format!("{:#}", matrix(m).unwrap_err()).contains("names triple `z`"));
    }

    #[test]
    fn the_glibc_floor_is_required_and_must_be_a_version() {
        assert_eq!(
            matrix(small()).unwrap().glibc_floor,
            "2.36".parse().unwrap()
        );
        let mut m = small();
        m.as_object_mut().unwrap().remove("glibc_floor");
        assert_eq!(
            format!("{:#}", matrix(m).unwrap_err()),
            "[workspace.metadata.repro] has no glibc_floor; add the oldest glibc the released binaries must run on, e.g. glibc_floor = \"2.36\""
        );
        let mut m = small();
        m["glibc_floor"] = serde_json::json!("2.x");
        assert_eq!(
            format!("{:#}", matrix(m).unwrap_err()),
            "[workspace.metadata.repro] glibc_floor: `2.x` is not a glibc version such as 2.36"
        );
        let mut m = small();
        m["glibc_floor"] = serde_json::json!(2.36);
        assert_eq!(
            format!("{:#}", matrix(m).unwrap_err()),
            "[workspace.metadata.repro] glibc_floor must be a string such as \"2.36\", not 2.36"
        );
    }
}
