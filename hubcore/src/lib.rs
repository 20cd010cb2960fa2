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

#[cfg(test)]
mod tests {
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
