//! repro's rebuild input (`rebuilderd::input`): the file a rebuilderd worker
//! downloads and the backend reads, and whose hash a verifier makes again
//! from the release to match a link's material.
//!
//! The first byte picks how the rest is used. Even: the rest is an input
//! file; whatever `parse` accepts is made again by `render` from the
//! manifest and triple it carries, and that parses to the same. Odd: the
//! first line of the rest is a triple and the others a manifest.json;
//! whatever `render` makes is one line that `parse` reads back to exactly
//! that manifest text and triple.

use repro::hashing::sha256_bytes;
use repro::manifest::Manifest;
use repro::rebuilderd::input::{SCHEMA, parse, render};

fn one_line(rendered: &[u8]) {
    assert_eq!(
        rendered.iter().position(|&b| b == b'\n'),
        Some(rendered.len() - 1),
        "an input is one line"
    );
}

fn input(bytes: &[u8]) {
    let (input, manifest) = match parse(bytes) {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = format!("{e:#}");
            return;
        }
    };
    assert_eq!(input.schema, SCHEMA);
    assert_eq!(
        input.manifest_sha256,
        sha256_bytes(input.manifest.as_bytes())
    );
    let rendered = render(input.manifest.as_bytes(), &input.triple)
        .expect("a parsed input's manifest and triple render");
    one_line(&rendered);
    let again = parse(&rendered).expect("a rendered input parses");
    assert_eq!(again, (input, manifest), "render changed the input");
    assert_eq!(
        render(again.0.manifest.as_bytes(), &again.0.triple).expect("and renders"),
        rendered
    );
}

fn manifest_and_triple(rest: &[u8]) {
    let (triple, manifest_bytes) = match rest.iter().position(|&b| b == b'\n') {
        Some(end) => (&rest[..end], &rest[end + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(triple) = std::str::from_utf8(triple) else {
        return;
    };
    let rendered = match render(manifest_bytes, triple) {
        Ok(rendered) => rendered,
        Err(e) => {
            let _ = format!("{e:#}");
            return;
        }
    };
    one_line(&rendered);
    let (input, manifest) = parse(&rendered).expect("a rendered input parses");
    assert_eq!(input.manifest.as_bytes(), manifest_bytes);
    assert_eq!(input.triple, triple);
    assert_eq!(
        manifest,
        Manifest::parse(manifest_bytes).expect("render parsed it")
    );
    assert!(manifest.artifacts.iter().any(|a| a.target == triple));
}

pub fn run(data: &[u8]) {
    match data.split_first() {
        Some((mode, rest)) if mode % 2 == 0 => input(rest),
        Some((_, rest)) => manifest_and_triple(rest),
        None => {}
    }
}
