//! in-toto's reference implementation (PyPI `in-toto` on `securesystemslib`)
//! verifies the DSSE envelope `repro attest` writes, with nothing but the
//! rebuilder's public key, and rejects it once altered.
//!
//! Needs python3 with in-toto and securesystemslib; the Python is
//! $REPRO_TEST_PYTHON, or python3 on PATH. Without them the test prints
//! SKIPPED and passes, unless REPRO_REQUIRE_INTOTO is set (CI sets it).

mod attest_world;
mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use attest_world::*;
use common::*;

/// Loads the envelope with in-toto's Metadata API and verifies it with
/// securesystemslib's DSSE verification, the key made from the OpenSSH public
/// key file. Prints `VERIFIED <keyid> <_type> <predicateType> <subjects>`, or
/// `REJECTED <why>` and exits 3.
const VERIFY_PY: &str = r#"
import json, sys
from cryptography.hazmat.primitives.serialization import load_ssh_public_key
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey
from in_toto.models.metadata import Envelope, Metadata

public_key = load_ssh_public_key(open(sys.argv[1], "rb").read())
key = SSlibKey.from_crypto(public_key)
envelope = Metadata.load(sys.argv[2])
assert isinstance(envelope, Envelope), type(envelope)
try:
    accepted = envelope.verify([key], 1)
except VerificationError as e:
    print("REJECTED", e)
    sys.exit(3)
assert list(accepted) == [key.keyid]
statement = json.loads(envelope.payload)
print("VERIFIED", key.keyid, statement["_type"], statement["predicateType"], len(statement["subject"]))
"#;

fn python() -> String {
    std::env::var("REPRO_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Whether the reference implementation can run here; if not, why.
fn reference_available() -> Result<(), String> {
    let probe = Command::new(python())
        .args(["-c", "import in_toto, securesystemslib, cryptography"])
        .output();
    match probe {
        Ok(out) if out.status.success() => Ok(()),
        // The last line of a traceback says what is missing.
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or_default()
            .to_owned()),
        Err(e) => Err(format!("{}: {e}", python())),
    }
}

struct Reference {
    code: i32,
    stdout: String,
}

fn reference_verify(script: &Path, public: &Path, envelope: &Path) -> Reference {
    let out = Command::new(python())
        .arg(script)
        .arg(public)
        .arg(envelope)
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(3),
        "the script itself failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Reference {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
    }
}

#[test]
fn in_totos_reference_implementation_verifies_our_envelope() {
    if let Err(why) = reference_available() {
        assert!(
            std::env::var_os("REPRO_REQUIRE_INTOTO").is_none(),
            "REPRO_REQUIRE_INTOTO is set, but in-toto is not importable: {why}"
        );
        println!(
            "SKIPPED: python3 with in-toto and securesystemslib is not available ({why}); pip install in-toto securesystemslib"
        );
        return;
    }
    let w = World::new();
    let r = w.attest("alice", "alice", &release());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let script = w.tmp.join("verify_envelope.py");
    fs::write(&script, VERIFY_PY).unwrap();
    let public = |who: &str| format!("{}.pub", w.key(who).display());
    let envelope = w.tmp.join("atts/alice.intoto.jsonl");

    let ok = reference_verify(&script, Path::new(&public("alice")), &envelope);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    // The keyid securesystemslib computes from the key is the one we wrote
    // and printed.
    let keyid = r
        .stdout
        .split("(DSSE keyid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert_eq!(
        ok.stdout,
        format!("VERIFIED {keyid} https://in-toto.io/Statement/v1 urn:camhub:repro:rebuild:v1 3\n")
    );

    // Another key does not verify it.
    let other = reference_verify(&script, Path::new(&public("bob")), &envelope);
    assert_eq!(other.code, 3, "{}", other.stdout);

    // Nor does alice's key once the payload is altered.
    let text = fs::read_to_string(&envelope).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let payload = value["payload"].as_str().unwrap();
    // Flip one base64 character inside the payload: still valid base64.
    let at = payload.len() / 2;
    let flipped = if &payload[at..at + 1] == "A" {
        "B"
    } else {
        "A"
    };
    value["payload"] = format!("{}{flipped}{}", &payload[..at], &payload[at + 1..]).into();
    let tampered = w.tmp.join("tampered.intoto.jsonl");
    fs::write(&tampered, format!("{value}\n")).unwrap();
    let bad = reference_verify(&script, Path::new(&public("alice")), &tampered);
    assert_eq!(bad.code, 3, "{}", bad.stdout);
    assert!(bad.stdout.starts_with("REJECTED "), "{}", bad.stdout);
}
