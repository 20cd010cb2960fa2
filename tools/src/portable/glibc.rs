//! glibc version numbers, as the release matrix's glibc_floor and the
//! GLIBC_x.y symbol versions of a binary spell them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::style::escape_untrusted;

/// A glibc version such as 2.36 or 2.2.5, compared numerically (2.36 = 2.36.0).
#[derive(Debug, Clone)]
pub struct GlibcVersion {
    parts: Vec<u32>,
}

impl GlibcVersion {
    fn key(&self) -> [u32; 3] {
        let mut key = [0; 3];
        for (slot, part) in key.iter_mut().zip(&self.parts) {
            *slot = *part;
        }
        key
    }
}

impl FromStr for GlibcVersion {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let parts: Option<Vec<u32>> = text
            .split('.')
            .map(|p| {
                p.bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| p.parse().ok())
                    .flatten()
            })
            .collect();
        match parts {
            Some(parts) if (2..=3).contains(&parts.len()) => Ok(GlibcVersion { parts }),
            _ => Err(format!(
                "`{}` is not a glibc version such as 2.36",
                escape_untrusted(text)
            )),
        }
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.parts.iter().map(u32::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

impl PartialEq for GlibcVersion {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for GlibcVersion {}

impl Ord for GlibcVersion {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for GlibcVersion {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for GlibcVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GlibcVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_versions_parse_strictly_and_compare_numerically() {
        let v = |s: &str| s.parse::<GlibcVersion>().unwrap();
        assert!(v("2.36") > v("2.2.5"));
        assert!(v("2.4") < v("2.36"));
        assert_eq!(v("2.36"), v("2.36"));
        assert!(v("2.36.1") > v("2.36"));
        assert_eq!(v("2.2.5").to_string(), "2.2.5");
        for bad in ["2", "2.", "x.y", "2.36.1.1", "+2.36", "2.-1", "", "2 .36"] {
            let err = bad.parse::<GlibcVersion>().unwrap_err();
            assert!(
                err.contains("is not a glibc version such as 2.36"),
                "{bad}: {err}"
            );
        }
    }
}
