//! repro's manifest.json reader on any bytes: what `Manifest::load` and
//! `BuildFolder::open` do after the file is read. Whatever parses must come
//! back unchanged from the canonical form `repro manifest` writes.

use repro::manifest::Manifest;

pub fn run(data: &[u8]) {
    let manifest = match Manifest::parse(data) {
        Ok(manifest) => manifest,
        Err(e) => {
            let _ = format!("{e:#}");
            return;
        }
    };
    for artifact in &manifest.artifacts {
        let _ = repro::layout::check(artifact);
        let _ = artifact.recorded_mismatch(&"0".repeat(64));
        let _ = artifact.display_key();
    }
    let text = manifest.to_canonical_json();
    let again = Manifest::parse(&text).expect("the canonical form of a manifest parses");
    let mut sorted = manifest;
    sorted.sort_artifacts();
    assert_eq!(again, sorted, "the canonical form changed the manifest");
}
