//! repro's reader of a rebuilderd daemon's public key (`rebuilderd::daemon_key`,
//! what `repro rebuilderd key URL` makes of `/api/v1/meta/public-keys`), on
//! any bytes as DER and, when UTF-8, as PEM. A key is only ever read from
//! exactly one of the two SPKI layouts, and from the PEM's own base64.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use repro::rebuilderd::daemon_key::{from_pem, from_spki_der};

/// rebuilderd's layout (with a NULL parameter) and RFC 8410's, before the key.
const WITH_NULL: &str = "302c300706032b65700500032100";
const RFC8410: &str = "302a300506032b6570032100";

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

fn pem(der: &[u8]) -> String {
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(der)
    )
}

pub fn run(data: &[u8]) {
    let prefixes = [unhex(WITH_NULL), unhex(RFC8410)];
    let layout = prefixes
        .iter()
        .find(|p| data.len() == p.len() + 32 && data.starts_with(p));
    match (from_spki_der(data), layout) {
        (Ok(key), Some(prefix)) => assert_eq!(&key[..], &data[prefix.len()..]),
        (Err(e), None) => assert!(!format!("{e:#}").is_empty()),
        (got, _) => panic!("{data:02x?}: {got:?}, but the layout says otherwise"),
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let key = match from_pem(text) {
        Ok(key) => key,
        Err(e) => {
            let _ = format!("{e:#}");
            return;
        }
    };
    // The key's DER, in base64, is in the text (blanks aside).
    let packed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        prefixes
            .iter()
            .any(|p| packed.contains(&STANDARD.encode([&p[..], &key].concat()))),
        "{text:?} gave a key its base64 does not hold"
    );
    for prefix in &prefixes {
        let der = [&prefix[..], &key].concat();
        assert_eq!(from_pem(&pem(&der)).expect("its own PEM reads"), key);
        assert_eq!(
            from_pem(&pem(&der).replace('\n', "\r\n")).expect("with CRLF too"),
            key
        );
    }
}
