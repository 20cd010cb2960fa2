//! A FIFO, /dev/zero or an oversized file where repro expects a small regular
//! file (manifest.json, an attestation, its .sig, allowed_signers, the key):
//! refused promptly with exit 2 or a MALFORMED line, never a hang or an endless read.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::*;

enum Special {
    Fifo,
    DevZero,
}

fn plant(path: &Path, what: &Special) {
    let _ = fs::remove_file(path);
    match what {
        Special::Fifo => mkfifo(path),
        Special::DevZero => std::os::unix::fs::symlink("/dev/zero", path).unwrap(),
    }
}

#[test]
fn a_special_file_as_manifest_is_unusable() {
    for what in [Special::Fifo, Special::DevZero] {
        let (_guard, tmp) = tmp();
        build_folder(&tmp.join("a"), &release());
        build_folder(&tmp.join("b"), &release());
        plant(&tmp.join("b/manifest.json"), &what);
        let r = run_within(
            repro().arg("compare").arg(tmp.join("a")).arg(tmp.join("b")),
            20,
        );
        assert_eq!(r.code, 2, "{}", r.stdout);
        assert_eq!(
            normalise(&r.stderr, &tmp),
            "repro: <tmp>/b/manifest.json: not a regular file; the build folder's manifest.json must be a file\n"
        );
    }
}

#[test]
fn an_oversized_manifest_is_unusable() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release());
    build_folder(&tmp.join("b"), &release());
    // Sparse: costs no disk, but reading it whole would cost 1 GiB of memory.
    fs::File::options()
        .write(true)
        .open(tmp.join("b/manifest.json"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let r = run_within(
        repro().arg("compare").arg(tmp.join("a")).arg(tmp.join("b")),
        20,
    );
    assert_eq!(r.code, 2);
    assert!(
        normalise(&r.stderr, &tmp).starts_with("repro: <tmp>/b/manifest.json: larger than "),
        "{}",
        r.stderr
    );
}

fn keygen(path: &Path) -> String {
    assert!(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "k", "-f"])
            .arg(path)
            .status()
            .expect("ssh-keygen is installed")
            .success()
    );
    fs::read_to_string(format!("{}.pub", path.display())).unwrap()
}

fn verify(tmp: &Path) -> Run {
    run_within(
        repro()
            .arg("verify")
            .arg(tmp.join("release"))
            .arg("--attestations")
            .arg(tmp.join("atts"))
            .arg("--allowed-signers")
            .arg(tmp.join("allowed_signers"))
            .args(["--min", "1"]),
        20,
    )
}

#[test]
fn special_files_among_attestations_and_keys_are_refused() {
    for what in [Special::Fifo, Special::DevZero] {
        let (_guard, tmp) = tmp();
        build_folder(&tmp.join("release"), &release());
        let public = keygen(&tmp.join("key"));
        fs::write(tmp.join("allowed_signers"), format!("alice {public}")).unwrap();
        let attest = |key: &Path| {
            run_within(
                repro()
                    .arg("attest")
                    .arg(tmp.join("release"))
                    .arg("--key")
                    .arg(key)
                    .args(["--name", "alice", "--out"])
                    .arg(tmp.join("atts")),
                20,
            )
        };
        assert_eq!(attest(&tmp.join("key")).code, 0);
        assert_eq!(verify(&tmp).code, 0);

        // The key.
        plant(&tmp.join("special-key"), &what);
        let r = attest(&tmp.join("special-key"));
        assert_eq!(r.code, 2);
        assert!(
            normalise(&r.stderr, &tmp).starts_with("repro: <tmp>/special-key: not a regular file"),
            "{}",
            r.stderr
        );

        // The attestation, its signature, its DSSE envelope: reported, not
        // counted; the other form of alice's attestation still counts.
        for (file, attestation, says) in [
            (
                "alice.intoto.json",
                "alice.intoto.json",
                "cannot read: not a regular file",
            ),
            (
                "alice.intoto.json.sig",
                "alice.intoto.json",
                "cannot read the signature file: not a regular file",
            ),
            (
                "alice.intoto.jsonl",
                "alice.intoto.jsonl",
                "cannot read: not a regular file",
            ),
        ] {
            let path = tmp.join("atts").join(file);
            let saved = fs::read(&path).unwrap();
            plant(&path, &what);
            let r = verify(&tmp);
            assert_eq!(r.code, 0, "{file}: {}{}", r.stdout, r.stderr);
            assert!(
                r.stdout
                    .contains(&format!("MALFORMED: {attestation}: not counted: {says}\n")),
                "{file}: {}",
                r.stdout
            );
            fs::remove_file(&path).unwrap();
            fs::write(&path, saved).unwrap();
        }

        // The allowed-signers file.
        plant(&tmp.join("allowed_signers"), &what);
        let r = verify(&tmp);
        assert_eq!(r.code, 2);
        assert!(
            normalise(&r.stderr, &tmp)
                .starts_with("repro: <tmp>/allowed_signers: not a regular file"),
            "{}",
            r.stderr
        );
    }
}
