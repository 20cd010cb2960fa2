//! The server's URL as hubs and clients write it in their configs: checked
//! when a config is made and when a program starts, so a typo is an error
//! there rather than a failure at the first upload.

use anyhow::{Result, bail};
use http::Uri;

/// Checks that `url` is an http(s) URL with a host, and nothing a request
/// path is appended to could be confused by: no user info, query or fragment,
/// no spaces or control characters.
pub fn check(url: &str) -> Result<()> {
    let shown = url.escape_debug();
    if let Some(c) = url.chars().find(|c| c.is_control() || c.is_whitespace()) {
        bail!(
            "server URL `{shown}` holds the character {}; write the URL alone, e.g. https://clips.example.org",
            c.escape_debug()
        );
    }
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        bail!("server URL `{shown}` must start with https:// (or http:// on a trusted network)");
    };
    if rest.is_empty() || rest.starts_with([':', '/', '?', '#']) {
        bail!("server URL `{shown}` names no host; e.g. https://clips.example.org");
    }
    let uri: Uri = match url.parse() {
        Ok(uri) => uri,
        Err(e) => bail!("server URL `{shown}` is not a URL ({e}); e.g. https://clips.example.org"),
    };
    let Some(authority) = uri.authority() else {
        bail!("server URL `{shown}` names no host; e.g. https://clips.example.org");
    };
    if authority.host().is_empty() {
        bail!("server URL `{shown}` names no host; e.g. https://clips.example.org");
    }
    if authority.as_str().contains('@') {
        bail!(
            "server URL `{shown}` holds a user name or password; the token in the config authenticates"
        );
    }
    let port = match authority.as_str().rsplit_once(':') {
        Some((_, port)) if !port.ends_with(']') => Some(port),
        _ => None,
    };
    if port.is_some_and(|p| !p.parse::<u16>().is_ok_and(|p| p > 0)) {
        bail!("server URL `{shown}` has a port that is not a number from 1 to 65535");
    }
    if url.contains(['?', '#']) {
        bail!("server URL `{shown}` holds a query or fragment; clip paths are appended to it");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn only_plain_http_urls_with_a_host_pass() {
        for ok in [
            "https://clips.example.org",
            "http://127.0.0.1:8080",
            "https://example.org/camhub/",
            "http://[::1]:80",
        ] {
            check(ok).unwrap();
        }
        for (bad, says) in [
            ("http://", "names no host"),
            ("https://:8080", "names no host"),
            ("ftp://x", "must start with https://"),
            ("clips.example.org", "must start with https://"),
            ("https://x\n", "holds the character \\n"),
            ("https://x/\x1b[2J", "holds the character \\u{1b}"),
            ("https://a b", "holds the character  "),
            ("https://u:p@x", "user name or password"),
            ("https://x/?a=1", "query or fragment"),
            ("https://x:99999", "not a number from 1"),
            ("https://x:8o", "not a number from 1"),
            ("", "must start with https://"),
        ] {
            let Err(err) = check(bad) else {
                panic!("{bad:?} passed")
            };
            let err = err.to_string();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
    }
}
