//! The rebuilders a device (or `repro verify`) trusts: each rebuilderd
//! instance's name and pinned public key, and how many of them must confirm
//! every binary. One TOML file, read by `camhub-update --rebuilders` and
//! `repro verify --rebuilders`:
//!
//! ```toml
//! k = 2
//! [[rebuilder]]
//! name = "alice"
//! key = "ed25519:<64 hex: the daemon's public key, `repro rebuilderd key URL`>"
//! url = "https://rebuilder.alice.example"   # optional: for collect and status
//! ```
//!
//! A signature means that instance's operator vouches for the rebuild; k
//! counts instances, so they must be run by independent operators.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Result, bail};
use serde::Deserialize;

use crate::hashing::{HashError, read_regular};
use crate::style::escape_untrusted;

/// A config file larger than this is refused: a few hundred rebuilders fit in 64 KiB.
pub const TRUST_LIMIT: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustConfig {
    /// How many distinct trusted instances must confirm each binary.
    pub k: usize,
    #[serde(rename = "rebuilder", default)]
    pub rebuilders: Vec<Rebuilder>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rebuilder {
    /// The instance's name: a label, also its folder under attestations/rebuilderd/.
    pub name: String,
    /// The daemon's ed25519 public key, `ed25519:` and 64 hex digits.
    pub key: String,
    /// The instance's address, for `repro rebuilderd collect` and `status`.
    #[serde(default)]
    pub url: Option<String>,
}

impl Rebuilder {
    /// The raw 32-byte ed25519 key.
    pub fn key_bytes(&self) -> [u8; 32] {
        parse_key(&self.key).expect("validated when the config was read")
    }
}

/// `ed25519:<64 hex>` as the 32 key bytes.
pub fn parse_key(text: &str) -> Option<[u8; 32]> {
    let hex = text.strip_prefix("ed25519:")?;
    // Digits only: `from_str_radix` alone also takes a sign (`+f` is 15),
    // so another spelling of a key would pass as the pinned one.
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(key)
}

/// How a key is written in the config (`repro rebuilderd key` prints this).
pub fn format_key(key: &[u8; 32]) -> String {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    format!("ed25519:{hex}")
}

impl TrustConfig {
    /// Reads and checks the file; every error names the file and the fix.
    pub fn load(path: &Path) -> Result<TrustConfig> {
        let shown = escape_untrusted(&path.display().to_string());
        let bytes = match read_regular(path, TRUST_LIMIT) {
            Ok(bytes) => bytes,
            Err(HashError::Missing) => bail!(
                "{shown}: no such rebuilders file; write one naming the rebuilderd instances you trust, their keys and k (README, \"Devices install only what k rebuilders confirmed\")"
            ),
            Err(e) => bail!(
                "{shown}: {e}; the rebuilders file is a regular TOML file of at most {} KiB",
                TRUST_LIMIT >> 10
            ),
        };
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| anyhow::anyhow!("{shown}: not UTF-8 text; the rebuilders file is TOML"))?;
        TrustConfig::parse(text).map_err(|e| anyhow::anyhow!("{shown}: {e:#}"))
    }

    /// Parses and checks config text.
    pub fn parse(text: &str) -> Result<TrustConfig> {
        let config: TrustConfig = toml::from_str(text)
            .map_err(|e| anyhow::anyhow!("not a rebuilders file: {}", e.message()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        if self.k == 0 {
            bail!("k = 0: zero rebuilders prove nothing; set k to at least 1");
        }
        let mut names = BTreeSet::new();
        let mut keys = BTreeSet::new();
        for r in &self.rebuilders {
            let name = escape_untrusted(&r.name);
            if r.name.is_empty()
                || r.name.starts_with('.')
                || !r
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            {
                bail!(
                    "rebuilder name `{name}`: use letters, digits, `-`, `_` and `.` (it names a folder)"
                );
            }
            if !names.insert(r.name.as_str()) {
                bail!("rebuilder `{name}` is listed twice; each instance once");
            }
            let Some(key) = parse_key(&r.key) else {
                bail!(
                    "rebuilder `{name}`: key `{}` is not `ed25519:` and 64 hex digits; `repro rebuilderd key URL` prints an instance's key in this form",
                    escape_untrusted(&r.key)
                );
            };
            if !keys.insert(key) {
                bail!(
                    "rebuilder `{name}` has the key of another rebuilder: one operator's key counts once"
                );
            }
        }
        if self.rebuilders.len() < self.k {
            bail!(
                "k = {} but only {} rebuilder{} listed: no release could ever be installed; list at least k instances",
                self.k,
                self.rebuilders.len(),
                if self.rebuilders.len() == 1 {
                    " is"
                } else {
                    "s are"
                }
            );
        }
        Ok(())
    }

    /// The trusted instance with this key, if any.
    pub fn by_key(&self, key: &[u8; 32]) -> Option<&Rebuilder> {
        self.rebuilders.iter().find(|r| &r.key_bytes() == key)
    }

    /// The trusted instance with this name, if any.
    pub fn by_name(&self, name: &str) -> Option<&Rebuilder> {
        self.rebuilders.iter().find(|r| r.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "ed25519:3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";
    const KEY_B: &str = "ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    #[test]
    fn reads_a_valid_config() {
        let c = TrustConfig::parse(&format!(
            "k = 2\n[[rebuilder]]\nname = \"a\"\nkey = \"{KEY_A}\"\nurl = \"http://127.0.0.1:1\"\n[[rebuilder]]\nname = \"b\"\nkey = \"{KEY_B}\"\n"
        ))
        .unwrap();
        assert_eq!(c.k, 2);
        assert_eq!(c.by_key(&parse_key(KEY_B).unwrap()).unwrap().name, "b");
        assert_eq!(format_key(&c.rebuilders[0].key_bytes()), KEY_A);
    }

    #[test]
    fn a_key_is_64_hex_digits_and_nothing_else() {
        let key = &KEY_A["ed25519:".len()..];
        assert_eq!(
            parse_key(&format!("ed25519:{}", key.to_uppercase())),
            parse_key(KEY_A)
        );
        for bad in [
            format!("ed25519:+{}", &key[1..]),
            format!("ed25519:+0{}", &key[2..]),
            format!("ed25519:{}+f", &key[..62]),
            format!("ed25519:-{}", &key[1..]),
            format!("ed25519: {}", &key[1..]),
            format!("ed25519:{}", &key[1..]),
            format!("ed25519:{key}0"),
            format!("ED25519:{key}"),
        ] {
            assert_eq!(parse_key(&bad), None, "{bad}");
        }
        let e = TrustConfig::parse(&format!(
            "k = 1\n[[rebuilder]]\nname = \"a\"\nkey = \"ed25519:+0{}\"\n",
            &key[2..]
        ))
        .unwrap_err();
        assert!(format!("{e:#}").contains("64 hex digits"), "{e:#}");
    }

    #[test]
    fn refuses_configs_that_would_mislead() {
        for (text, expect) in [
            (
                format!("k = 0\n[[rebuilder]]\nname = \"a\"\nkey = \"{KEY_A}\"\n"),
                "k = 0",
            ),
            (
                format!("k = 2\n[[rebuilder]]\nname = \"a\"\nkey = \"{KEY_A}\"\n"),
                "only 1 rebuilder is listed",
            ),
            (
                format!(
                    "k = 2\n[[rebuilder]]\nname = \"a\"\nkey = \"{KEY_A}\"\n[[rebuilder]]\nname = \"b\"\nkey = \"{KEY_A}\"\n"
                ),
                "key of another",
            ),
            (
                format!(
                    "k = 1\n[[rebuilder]]\nname = \"a\"\nkey = \"{KEY_A}\"\n[[rebuilder]]\nname = \"a\"\nkey = \"{KEY_B}\"\n"
                ),
                "listed twice",
            ),
            (
                "k = 1\n[[rebuilder]]\nname = \"a\"\nkey = \"3b6a\"\n".to_owned(),
                "64 hex",
            ),
            (
                format!("k = 1\n[[rebuilder]]\nname = \"../x\"\nkey = \"{KEY_A}\"\n"),
                "names a folder",
            ),
            (
                format!("k = 1\nthreshold = 2\n[[rebuilder]]\nname = \"a\"\nkey = \"{KEY_A}\"\n"),
                "unknown field",
            ),
        ] {
            let e = format!("{:#}", TrustConfig::parse(&text).unwrap_err());
            assert!(e.contains(expect), "{text}: {e}");
        }
    }
}
