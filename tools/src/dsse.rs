//! DSSE envelopes, the in-toto standard signing wrapper
//! (<https://github.com/secure-systems-lab/dsse>, protocol v1): the same
//! in-toto Statement that the SSHSIG signature covers, signed by the same
//! ed25519 key, in the form in-toto's and sigstore's tools read.
//!
//! The signature is over PAE(payloadType, payload) =
//! `"DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload`, never over the
//! JSON around it. The keyid is securesystemslib's default for the key, the
//! lowercase hex SHA-256 of the canonical JSON
//! `{"keytype":"ed25519","keyval":{"public":"<hex key>"},"scheme":"ed25519"}`,
//! so `SSlibKey.from_crypto(public_key)` in in-toto's reference implementation
//! matches it without being told. A verifier treats the keyid as a hint only:
//! trust comes from the allowed-signers file.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// The in-toto payload type (in-toto attestation spec, envelope layer).
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// An in-toto bundle: JSON Lines, one envelope per line; repro writes one.
pub const ENVELOPE_SUFFIX: &str = ".intoto.jsonl";
/// More signatures than this in one envelope is not an attestation.
const MAX_SIGNATURES: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Base64 of the serialized in-toto Statement.
    pub payload: String,
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// Optional in DSSE, and unauthenticated.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
    /// Base64 of the 64-byte ed25519 signature.
    pub sig: String,
}

/// DSSE's pre-authentication encoding: what is actually signed.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// securesystemslib's default keyid of an ed25519 public key (see the module
/// documentation).
pub fn keyid(public: &[u8; 32]) -> String {
    let hex: String = public.iter().map(|b| format!("{b:02x}")).collect();
    crate::hashing::sha256_bytes(
        format!(r#"{{"keytype":"ed25519","keyval":{{"public":"{hex}"}},"scheme":"ed25519"}}"#)
            .as_bytes(),
    )
}

/// The envelope of `payload` signed with `key`, as one JSON line with its newline.
pub fn sign(key: &SigningKey, payload: &[u8]) -> Vec<u8> {
    let signature = key.sign(&pae(PAYLOAD_TYPE, payload));
    let envelope = Envelope {
        payload: base64::engine::general_purpose::STANDARD.encode(payload),
        payload_type: PAYLOAD_TYPE.to_owned(),
        signatures: vec![EnvelopeSignature {
            keyid: keyid(key.verifying_key().as_bytes()),
            sig: base64::engine::general_purpose::STANDARD.encode(signature.to_bytes()),
        }],
    };
    let mut line = serde_json::to_vec(&envelope).expect("strings serialize");
    line.push(b'\n');
    line
}

/// Decodes base64 as DSSE verifiers must: standard or URL-safe alphabet,
/// padded or not.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let lenient =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    [
        GeneralPurpose::new(&base64::alphabet::STANDARD, lenient),
        GeneralPurpose::new(&base64::alphabet::URL_SAFE, lenient),
    ]
    .iter()
    .find_map(|engine| engine.decode(text).ok())
}

/// A parsed envelope file: its payload and the signatures to try.
#[derive(Debug)]
pub struct Opened {
    pub payload: Vec<u8>,
    signatures: Vec<(String, ed25519_dalek::Signature)>,
}

/// Reads an envelope file (one JSON line; a trailing newline is allowed).
/// The error says why it is not a usable envelope.
pub fn open(bytes: &[u8]) -> Result<Opened, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let line = lines.next().ok_or("empty: no DSSE envelope")?;
    if lines.next().is_some() {
        return Err("holds more than one envelope; repro reads one per file".into());
    }
    let envelope: Envelope =
        serde_json::from_str(line).map_err(|e| format!("not a DSSE envelope: {e}"))?;
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(format!(
            "payloadType is `{}`, not `{PAYLOAD_TYPE}`",
            envelope.payload_type
        ));
    }
    if envelope.signatures.is_empty() || envelope.signatures.len() > MAX_SIGNATURES {
        return Err(format!(
            "{} signatures; an attestation has 1 to {MAX_SIGNATURES}",
            envelope.signatures.len()
        ));
    }
    let payload = decode_base64(&envelope.payload).ok_or("the payload is not base64")?;
    let signatures = envelope
        .signatures
        .into_iter()
        .filter_map(|s| {
            let bytes = decode_base64(&s.sig)?;
            Some((s.keyid, ed25519_dalek::Signature::from_slice(&bytes).ok()?))
        })
        .collect();
    Ok(Opened {
        payload,
        signatures,
    })
}

impl Opened {
    /// The keyids the envelope names, for messages.
    pub fn keyids(&self) -> Vec<&str> {
        self.signatures.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// Whether some signature in the envelope is `key`'s over this payload.
    /// Every signature is tried: the keyid is a hint anyone can write.
    pub fn signed_by(&self, key: &VerifyingKey) -> bool {
        let message = pae(PAYLOAD_TYPE, &self.payload);
        self.signatures
            .iter()
            .any(|(_, sig)| key.verify_strict(&message, sig).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_is_the_specs() {
        // The DSSE protocol's own test vector.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }
}
