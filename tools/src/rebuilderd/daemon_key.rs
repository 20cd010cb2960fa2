//! A rebuilderd daemon's public signing key, as `/api/v1/meta/public-keys`
//! serves it: an ed25519 SubjectPublicKeyInfo in PEM.
//!
//! rebuilderd 0.28 (through the in-toto crate) writes the SPKI with an
//! explicit NULL algorithm parameter, which RFC 8410 forbids and strict
//! decoders refuse, and ends its lines with CRLF. Rather than loosen a DER
//! parser, exactly two byte layouts are accepted: that one and RFC 8410's.
//! Both are a fixed prefix followed by the 32 key bytes.

use anyhow::{Result, bail};
use base64::Engine;

/// rebuilderd's SPKI: SEQUENCE { SEQUENCE { OID 1.3.101.112, NULL }, BIT STRING }.
const PREFIX_WITH_NULL: [u8; 14] = [
    0x30, 0x2c, 0x30, 0x07, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x05, 0x00, 0x03, 0x21, 0x00,
];
/// RFC 8410's SPKI: SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING }.
const PREFIX_RFC8410: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const END: &str = "-----END PUBLIC KEY-----";

/// The raw ed25519 key of one PEM `PUBLIC KEY` block.
pub fn from_pem(pem: &str) -> Result<[u8; 32]> {
    let mut lines = pem
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).trim())
        .filter(|l| !l.is_empty());
    if lines.next() != Some(BEGIN) {
        bail!("not a PEM public key (it must start with `{BEGIN}`)");
    }
    let mut body = String::new();
    let mut ended = false;
    for line in lines.by_ref() {
        if line == END {
            ended = true;
            break;
        }
        body.push_str(line);
    }
    if !ended {
        bail!("the PEM public key has no `{END}` line");
    }
    if lines.next().is_some() {
        bail!("text after the PEM public key's `{END}` line");
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|e| anyhow::anyhow!("the PEM public key is not base64: {e}"))?;
    from_spki_der(&der)
}

/// The raw ed25519 key of an SPKI in one of the two accepted layouts.
pub fn from_spki_der(der: &[u8]) -> Result<[u8; 32]> {
    let raw = if der.len() == PREFIX_WITH_NULL.len() + 32 && der.starts_with(&PREFIX_WITH_NULL) {
        &der[PREFIX_WITH_NULL.len()..]
    } else if der.len() == PREFIX_RFC8410.len() + 32 && der.starts_with(&PREFIX_RFC8410) {
        &der[PREFIX_RFC8410.len()..]
    } else {
        bail!(
            "not an ed25519 public key in a layout rebuilderd uses ({} bytes of DER; expected 44 or 46 starting with 302a300506032b6570032100 or 302c300706032b657005000321 00); only ed25519 daemon keys are supported",
            der.len()
        );
    };
    Ok(raw.try_into().expect("32 bytes by the length check"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(der: &[u8], eol: &str) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        format!("{BEGIN}{eol}{b64}{eol}{END}{eol}")
    }

    #[test]
    fn reads_both_layouts_and_crlf() {
        let key = [7u8; 32];
        let with_null = [&PREFIX_WITH_NULL[..], &key].concat();
        let rfc = [&PREFIX_RFC8410[..], &key].concat();
        assert_eq!(from_pem(&pem(&with_null, "\r\n")).unwrap(), key);
        assert_eq!(from_pem(&pem(&rfc, "\n")).unwrap(), key);
    }

    #[test]
    fn refuses_anything_else() {
        let key = [7u8; 32];
        // An X25519 key (OID 1.3.101.110) with the same shape.
        let mut x25519 = [&PREFIX_RFC8410[..], &key].concat();
        x25519[8] = 0x6e;
        let short = [&PREFIX_RFC8410[..], &key[..31]].concat();
        for (text, expect) in [
            (pem(&x25519, "\n"), "only ed25519"),
            (pem(&short, "\n"), "only ed25519"),
            ("garbage".to_owned(), "must start"),
            (format!("{BEGIN}\nAAAA\n"), "no `-----END"),
            (format!("{BEGIN}\n!!!\n{END}\n"), "not base64"),
        ] {
            let e = format!("{:#}", from_pem(&text).unwrap_err());
            assert!(e.contains(expect), "{text:?}: {e}");
        }
    }
}
