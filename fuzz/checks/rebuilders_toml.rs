//! repro's reader of the rebuilders file (`rebuilderd::trust`, what
//! `TrustConfig::load` does once the file is read as UTF-8), which decides
//! whose signatures a device counts. Whatever it accepts names k >= 1
//! instances, each once by name and by key, each key exactly
//! `ed25519:` and 64 hex digits; written out again, it reads the same.

use repro::rebuilderd::trust::{TrustConfig, format_key, parse_key};

/// `ed25519:` and 64 hex digits, by its own definition.
fn is_key(text: &str) -> bool {
    text.strip_prefix("ed25519:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn key_reads_as_written(text: &str) {
    match parse_key(text) {
        Some(key) => {
            assert!(is_key(text), "{text:?} read as a key");
            assert!(format_key(&key).eq_ignore_ascii_case(text));
        }
        None => assert!(!is_key(text), "{text:?} refused"),
    }
}

/// A TOML basic string (no serializer is needed for three fields).
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() && c != '\t' => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn written(config: &TrustConfig) -> String {
    let mut text = format!("k = {}\n", config.k);
    for r in &config.rebuilders {
        text.push_str(&format!(
            "\n[[rebuilder]]\nname = {}\nkey = {}\n",
            quoted(&r.name),
            quoted(&r.key)
        ));
        if let Some(url) = &r.url {
            text.push_str(&format!("url = {}\n", quoted(url)));
        }
    }
    text
}

pub fn run(data: &[u8]) {
    // `load` refuses a file that is not UTF-8 before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    key_reads_as_written(text.trim());
    let config = match TrustConfig::parse(text) {
        Ok(config) => config,
        Err(e) => {
            assert!(!format!("{e:#}").is_empty());
            return;
        }
    };
    assert!(config.k >= 1 && config.rebuilders.len() >= config.k);
    for (i, r) in config.rebuilders.iter().enumerate() {
        key_reads_as_written(&r.key);
        assert!(!r.name.is_empty() && !r.name.starts_with('.'));
        assert!(
            r.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')),
            "{:?} names a folder",
            r.name
        );
        let others = || {
            config
                .rebuilders
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
        };
        assert!(
            others().all(|(_, o)| o.name != r.name),
            "{:?} twice",
            r.name
        );
        assert!(
            others().all(|(_, o)| o.key_bytes() != r.key_bytes()),
            "a key twice"
        );
        assert_eq!(config.by_key(&r.key_bytes()), Some(r));
        assert_eq!(config.by_name(&r.name), Some(r));
    }
    let again = TrustConfig::parse(&written(&config)).expect("a config written out reads");
    assert_eq!(again, config);
}
