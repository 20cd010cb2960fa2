//! repro's attestation check on bytes (`attest::check_attestation`, what
//! `repro verify` runs on each `.intoto.json` and its `.sig`).
//!
//! The first byte picks how the rest is used. Even: the rest is a statement,
//! signed here with a trusted key, so parsing gets past the signature; the
//! same signature over other bytes must never verify. Odd: the rest is split
//! into an allowed-signers file, a signature and a statement, all hostile.

use repro::allowed_signers::{AllowedSigner, parse};
use repro::attest::{AttestationStatus, NAMESPACE, Statement, check_attestation};
use ssh_key::private::{Ed25519Keypair, PrivateKey};
use ssh_key::{HashAlg, LineEnding};

fn signed(statement: &[u8]) {
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&[7; 32]));
    let signers = [AllowedSigner {
        principal: "rebuilder".into(),
        key: key.public_key().clone(),
    }];
    let pem = key
        .sign(NAMESPACE, HashAlg::Sha512, statement)
        .and_then(|sig| sig.to_pem(LineEnding::LF))
        .expect("signing in memory works");
    match check_attestation(statement, pem.as_bytes(), &signers) {
        Ok((principal, parsed)) => {
            assert_eq!(principal, "rebuilder");
            let text = serde_json::to_vec(&parsed).expect("a statement serialises");
            let again: Statement = serde_json::from_slice(&text).expect("and parses back");
            assert_eq!(again, parsed);
        }
        Err((status, _)) => assert_eq!(
            status,
            AttestationStatus::Malformed,
            "a correctly signed statement was refused as other than malformed"
        ),
    }
    let mut altered = statement.to_vec();
    match altered.last_mut() {
        Some(last) => *last ^= 1,
        None => altered.push(b'x'),
    }
    assert!(matches!(
        check_attestation(&altered, pem.as_bytes(), &signers),
        Err((AttestationStatus::BadSignature, _))
    ));
}

/// Splits at the next 0xFF byte (never in UTF-8 text or PEM).
fn part(rest: &mut &[u8]) -> Vec<u8> {
    let end = rest.iter().position(|&b| b == 0xFF).unwrap_or(rest.len());
    let taken = rest[..end].to_vec();
    *rest = rest.get(end + 1..).unwrap_or_default();
    taken
}

fn hostile(mut rest: &[u8]) {
    let allowed = part(&mut rest);
    let pem = part(&mut rest);
    let signers = std::str::from_utf8(&allowed)
        .ok()
        .and_then(|text| parse(text, "allowed_signers").ok())
        .map(|(signers, _)| signers)
        .unwrap_or_default();
    if let Ok((principal, _)) = check_attestation(rest, &pem, &signers) {
        assert!(signers.iter().any(|s| s.principal == principal));
    }
}

pub fn run(data: &[u8]) {
    match data.split_first() {
        Some((mode, rest)) if mode % 2 == 0 => signed(rest),
        Some((_, rest)) => hostile(rest),
        None => {}
    }
}
