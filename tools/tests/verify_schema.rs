//! `repro verify --json` against its committed, versioned JSON Schema
//! (tools/schemas/verify.schema.json): every kind of real output validates,
//! and a document that breaks the contract does not.

mod attest_world;
mod common;
mod rebuilderd_world;

use std::fs;
use std::path::Path;

use attest_world::*;
use common::*;
use repro::attest::{VERIFY_SCHEMA_VERSION, VerifyReport};
use serde_json::{Value, json};

fn validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/verify.schema.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        schema["properties"]["schema_version"]["const"],
        VERIFY_SCHEMA_VERSION
    );
    jsonschema::draft202012::new(&schema).expect("a valid draft 2020-12 schema")
}

/// The JSON `repro verify --json` printed, checked against the schema and
/// parsed back into the report type.
fn valid_output(v: &jsonschema::Validator, w: &World, min: usize) -> (Value, VerifyReport) {
    let r = run(&mut w.verify_cmd(min, true));
    assert!(r.code == 0 || r.code == 1, "{}{}", r.stdout, r.stderr);
    let value: Value = serde_json::from_str(&r.stdout).unwrap();
    let errors: Vec<String> = v
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{}", r.stdout);
    let report: VerifyReport = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(report.passed, r.code == 0);
    (value, report)
}

#[test]
fn every_kind_of_verify_output_matches_the_schema() {
    let v = validator();
    let w = World::new();
    // An empty folder.
    fs::create_dir(w.tmp.join("atts")).unwrap();
    let (_, report) = valid_output(&v, &w, 1);
    assert!(report.summary.starts_with("FAILED: no attestations in "));
    // Agreement in both forms, a disagreement, an untrusted signer, another
    // release, a tampered and a malformed file.
    let mut other = release();
    other[2].content = Some(b"server x86, built differently".to_vec());
    let older: Vec<Art> = release()
        .into_iter()
        .map(|a| a.with(|a| a.version = "0.0.9".into()))
        .collect();
    for (who, name, arts) in [
        ("alice", "alice", release()),
        ("bob", "bob", release()),
        ("carol", "carol", other),
        ("eve", "eve", release()),
        ("carol", "carol-old", older),
    ] {
        assert_eq!(w.attest(who, name, &arts).code, 0);
    }
    let (_, report) = valid_output(&v, &w, 2);
    assert!(!report.passed);
    fs::write(w.tmp.join("atts/junk.intoto.jsonl"), "not json").unwrap();
    fs::write(w.tmp.join("atts/bob.intoto.json"), "{}").unwrap();
    let (value, report) = valid_output(&v, &w, 2);
    assert_eq!(value["schema_version"], 1);
    let formats: Vec<&str> = value["attestations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["format"].as_str().unwrap())
        .collect();
    assert!(formats.contains(&"sshsig") && formats.contains(&"dsse"));
    assert!(report.artifacts.iter().any(|a| !a.disagreed.is_empty()));
    let statuses: std::collections::BTreeSet<&str> = value["attestations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses.into_iter().collect::<Vec<_>>(),
        [
            "bad_signature",
            "counted",
            "duplicate",
            "malformed",
            "other_release",
            "untrusted"
        ]
    );
    // A pass.
    for name in ["carol", "eve", "junk", "carol-old", "bob"] {
        for suffix in [".intoto.json", ".intoto.json.sig", ".intoto.jsonl"] {
            let _ = fs::remove_file(w.tmp.join(format!("atts/{name}{suffix}")));
        }
    }
    let (_, report) = valid_output(&v, &w, 1);
    assert!(report.passed, "{}", report.summary);
}

#[test]
fn verify_output_with_rebuilderd_links_matches_the_schema() {
    let v = validator();
    let w = rebuilderd_world::World::new();
    let check = |w: &rebuilderd_world::World| -> (Value, VerifyReport) {
        let r = run(&mut w.cmd(true));
        assert!(r.code == 0 || r.code == 1, "{}{}", r.stdout, r.stderr);
        let value: Value = serde_json::from_str(&r.stdout).unwrap();
        let errors: Vec<String> = v
            .iter_errors(&value)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}\n{}", r.stdout);
        let report: VerifyReport = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(report.passed, r.code == 0);
        (value, report)
    };
    // Nothing collected yet.
    let (_, report) = check(&w);
    assert!(
        report.summary.contains("repro rebuilderd collect"),
        "{}",
        report.summary
    );
    w.confirm_all(&w.alice, "alice");
    w.confirm_all(&w.bob, "bob");
    let (_, report) = check(&w);
    assert!(report.passed, "{}", report.summary);
    // Every kind of rebuilderd entry: a BAD verdict, a link for other bytes,
    // an untrusted one, another release's, and garbage.
    let folder = w.tmp.join("release");
    let hub = release().remove(0);
    w.store("bob", X86, "camhub-ip.bad.json", &w.bad("bob", &hub));
    let other = w.link_of(&w.bob, &folder, &hub, b"other bytes");
    w.store("bob", X86, "camhub-ip.link", &other);
    let mallory = w.link_of(&w.mallory, &folder, &hub, b"hub x86");
    w.store("mallory", X86, "camhub-ip.link", &mallory);
    let old = w.tmp.join("old");
    rebuilderd_world::release_folder(&old, &release(), "0.1.0");
    let older = w.link_of(&w.alice, &old, &hub, b"hub x86");
    w.store("old", X86, "camhub-ip.link", &older);
    w.store("eve", X86, "camhub-ip.link", b"garbage");
    let (value, report) = check(&w);
    assert!(!report.passed);
    let kinds: std::collections::BTreeSet<(&str, &str)> = value["attestations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["format"].as_str().unwrap(), a["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            ("rebuilderd_link", "counted"),
            ("rebuilderd_link", "malformed"),
            ("rebuilderd_link", "other_release"),
            ("rebuilderd_link", "untrusted"),
            ("rebuilderd_verdict", "counted"),
        ]
    );
    let hub = report
        .artifacts
        .iter()
        .find(|a| a.name == "x86_64-unknown-linux-gnu/camhub-ip")
        .unwrap();
    let said: Vec<&str> = hub.disagreed.iter().map(|d| d.sha256.as_str()).collect();
    assert_eq!(said, ["BAD", sha256_hex(b"other bytes").as_str()]);
}

/// An edit that makes a valid document break the contract.
type Breakage = fn(&mut Value);

#[test]
fn a_document_that_breaks_the_contract_is_refused() {
    let v = validator();
    let w = World::new();
    assert_eq!(w.attest("alice", "alice", &release()).code, 0);
    let (good, _) = valid_output(&v, &w, 1);
    let broken: Vec<(&str, Breakage)> = vec![
        ("no schema_version", |d| {
            d.as_object_mut().unwrap().remove("schema_version");
        }),
        ("another schema_version", |d| d["schema_version"] = json!(2)),
        ("an unknown status", |d| {
            d["attestations"][0]["status"] = json!("trusted")
        }),
        ("an unknown format", |d| {
            d["attestations"][0]["format"] = json!("pgp")
        }),
        ("passed as text", |d| d["passed"] = json!("yes")),
        ("a summary without its verdict", |d| {
            d["summary"] = json!("ok")
        }),
        ("min zero", |d| d["min"] = json!(0)),
        ("a short hash", |d| {
            d["artifacts"][0]["sha256"] = json!("abc")
        }),
        ("a field the schema does not know", |d| {
            d["artifacts"][0]["extra"] = json!(1)
        }),
        ("no artifacts list", |d| {
            d.as_object_mut().unwrap().remove("artifacts");
        }),
    ];
    for (what, change) in broken {
        let mut doc = good.clone();
        change(&mut doc);
        assert!(!v.is_valid(&doc), "{what}: accepted");
    }
}
