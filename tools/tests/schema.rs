//! `repro compare --json` documents validated against the committed schema
//! (tools/schemas/compare.schema.json), which must also refuse wrong ones.

mod common;

use std::fs;

use common::*;
use serde_json::{Value, json};

fn validator() -> jsonschema::Validator {
    let text = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schemas/compare.schema.json"
    ))
    .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    assert!(
        jsonschema::meta::is_valid(&schema),
        "the schema is a valid JSON Schema"
    );
    jsonschema::validator_for(&schema).unwrap()
}

fn errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Real documents covering every status, missing and extra artifacts,
/// undescribed and companion files, and Secluso's deploy layout.
fn real_documents(tmp: &std::path::Path) -> Vec<(String, Value)> {
    build_folder(&tmp.join("release"), &release());
    fs::write(tmp.join("release/SHA256SUMS"), "x").unwrap();
    fs::write(tmp.join("release/stray"), "x").unwrap();
    build_folder(&tmp.join("same"), &release());
    build_folder(&tmp.join("sub"), &release()[..1]);
    let mut mixed = release();
    mixed[0].content = Some(b"other".to_vec());
    mixed[1].content = None;
    mixed[2].version = "9".into();
    build_folder(&tmp.join("mixed"), &mixed);
    build_folder(
        &tmp.join("elsewhere"),
        &[art("config_tool", X86, "camhub-config", b"c")],
    );
    let name = "App.AppImage";
    let deploy = art("deploy", X86, name, b"app").with(|a| {
        a.bin_path = format!("artifacts/{X86}/bundle/appimage/{name}");
        a.sha256 = Some(sha256_hex(b"app"));
    });
    build_folder(&tmp.join("deploy1"), std::slice::from_ref(&deploy));
    build_folder(&tmp.join("deploy2"), &[deploy]);
    let mut docs = Vec::new();
    for (a, b, code) in [
        ("same", "release", 0),
        ("sub", "release", 0),
        ("release", "mixed", 1),
        ("elsewhere", "release", 1),
        ("deploy1", "deploy2", 0),
    ] {
        let r = run(repro().args(["compare", "--json", a, b]).current_dir(tmp));
        assert_eq!(r.code, code, "{a} {b}: {}{}", r.stdout, r.stderr);
        docs.push((
            format!("{a} vs {b}"),
            serde_json::from_str(&r.stdout).unwrap(),
        ));
    }
    let r = run(repro()
        .args(["compare", "--json", "--explain", "release", "mixed"])
        .current_dir(tmp));
    let explained: Value = serde_json::from_str(&r.stdout).unwrap();
    docs.push(("--explain's report".into(), explained["report"].clone()));
    docs
}

#[test]
fn real_compare_json_documents_match_the_schema() {
    let (_guard, tmp) = tmp();
    let validator = validator();
    let docs = real_documents(&tmp);
    let statuses: std::collections::BTreeSet<String> = docs
        .iter()
        .flat_map(|(_, d)| d["results"].as_array().unwrap().clone())
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses.len(), 3, "every status is covered: {statuses:?}");
    for (what, doc) in &docs {
        assert_eq!(
            errors(&validator, doc),
            Vec::<String>::new(),
            "{what}: {doc:#}"
        );
        assert_eq!(doc["schema_version"], json!(repro::compare::SCHEMA_VERSION));
    }
}

#[test]
fn the_schema_refuses_wrong_documents() {
    let (_guard, tmp) = tmp();
    let validator = validator();
    let docs = real_documents(&tmp);
    let (_, failing) = docs
        .iter()
        .find(|(what, _)| what == "release vs mixed")
        .unwrap();
    type Change = Box<dyn Fn(&mut Value)>;
    let wrongs: Vec<(&str, Change)> = vec![
        (
            "no schema_version",
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("schema_version");
            }),
        ),
        (
            "a future schema_version",
            Box::new(|d| d["schema_version"] = json!(2)),
        ),
        (
            "an unknown status",
            Box::new(|d| d["results"][0]["status"] = json!("maybe")),
        ),
        (
            "an uppercase hash",
            Box::new(|d| d["results"][0]["a_sha256"] = json!("AB".repeat(32))),
        ),
        (
            "a count as text",
            Box::new(|d| d["a"]["compared"] = json!("3")),
        ),
        (
            "a renamed field",
            Box::new(|d| {
                let passed = d.as_object_mut().unwrap().remove("passed").unwrap();
                d["pass"] = passed;
            }),
        ),
        (
            "a diff without diffs",
            Box::new(|d| {
                let i = d["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .position(|r| r["status"] == "diff")
                    .unwrap();
                d["results"][i]["diffs"] = json!([]);
            }),
        ),
    ];
    assert!(validator.is_valid(failing));
    for (what, change) in wrongs {
        let mut doc = failing.clone();
        change(&mut doc);
        assert!(!validator.is_valid(&doc), "{what} was accepted");
    }
}
