//! What the camhub programs share: their config files, how a clip is sealed
//! (ChaCha20-Poly1305), random tokens and keys, and splitting a byte stream
//! into JPEG frames.

pub mod clip;
pub mod config;
pub mod jpeg;
pub mod secret;
pub mod server_url;

/// A name safe to use as one path component on the server and the hub:
/// letters, digits, `-`, `_` and `.`, not starting with a dot, at most 128 bytes.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// `1 clip`, `2 clips`: a count with its noun in the right number.
pub fn counted(count: u64, singular: &str, plural: &str) -> String {
    format!("{count} {}", if count == 1 { singular } else { plural })
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(super::counted(0, "clip", "clips"), "0 clips");
        assert_eq!(super::counted(1, "clip", "clips"), "1 clip");
        assert_eq!(super::counted(2, "byte", "bytes"), "2 bytes");
    }

    #[test]
    fn safe_names() {
        for ok in ["cam1", "clip-20260101T000000Z.mjpeg.sealed", "a_b"] {
            assert!(super::is_safe_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "a/b",
            "a\\b",
            "sp ace",
            &"x".repeat(129),
        ] {
            assert!(!super::is_safe_name(bad), "{bad}");
        }
    }
}
