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

/// Where a server reached at a URL listens, for `camhub-config new`, and
/// what the user must know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    /// `host:port` for server.json.
    pub address: String,
    /// Set when the URL alone does not reach the server as configured (a
    /// TLS proxy is needed, or every interface is opened): one line saying
    /// what and why.
    pub note: Option<String>,
}

/// The address camhub-server must listen on so that `url` (already
/// [`check`]ed) reaches it. camhub-server speaks plain HTTP at the root
/// path, so:
/// - `http://` with a loopback host (127.0.0.0/8, ::1, `localhost`) and no
///   path: that address and the URL's port (80 if none); reachable only from
///   this machine, as the URL says.
/// - `http://` with any other host and no path: every interface
///   (`0.0.0.0` or `[::]` for an IPv6 host) on the URL's port, since the
///   URL's host may be a name, a NAT address or one of several interfaces
///   of this machine; the note says the port is open to the network.
/// - `https://`, or a path after the host: a reverse proxy must terminate
///   TLS or strip the path, so the server stays on `127.0.0.1:8080` for the
///   proxy to forward to; the note says so.
pub fn listen_address(url: &str) -> Result<Listen> {
    check(url)?;
    let uri: Uri = url.parse()?;
    let authority = uri.authority().expect("checked: the URL has a host");
    let host = authority.host();
    let behind_proxy = |why: &str| Listen {
        address: "127.0.0.1:8080".into(),
        note: Some(format!(
            "{why}: put a reverse proxy in front that forwards {url} to http://127.0.0.1:8080"
        )),
    };
    if uri.scheme_str() == Some("https") {
        return Ok(behind_proxy("camhub-server speaks plain HTTP, not TLS"));
    }
    if !matches!(uri.path(), "" | "/") {
        return Ok(behind_proxy(&format!(
            "camhub-server serves /clips, not {}/clips",
            uri.path().trim_end_matches('/')
        )));
    }
    let port = authority.port_u16().unwrap_or(80);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let ip = bare.parse::<std::net::IpAddr>().ok();
    let address = match ip {
        Some(ip) if ip.is_loopback() => std::net::SocketAddr::new(ip, port).to_string(),
        None if bare.eq_ignore_ascii_case("localhost") => format!("127.0.0.1:{port}"),
        Some(std::net::IpAddr::V6(_)) => format!("[::]:{port}"),
        _ => format!("0.0.0.0:{port}"),
    };
    let note = (!address.starts_with("127.") && !address.starts_with("[::1]")).then(|| {
        format!(
            "{address} is every interface, so hubs and clients can reach the server as {host}; \
             tokens and sealed clips cross the network unencrypted (use https:// through a TLS proxy off a trusted network), \
             or pass --listen to choose the interface"
        )
    });
    Ok(Listen { address, note })
}

#[cfg(test)]
mod tests {
    use super::{check, listen_address};

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

    #[test]
    fn the_server_listens_where_the_url_points() {
        for (url, address, noted) in [
            ("http://127.0.0.1:8088", "127.0.0.1:8088", false),
            ("http://127.0.0.2", "127.0.0.2:80", false),
            ("http://localhost:9000/", "127.0.0.1:9000", false),
            ("http://LOCALHOST:9000", "127.0.0.1:9000", false),
            ("http://[::1]:8089", "[::1]:8089", false),
            ("http://cam.example.org:8088", "0.0.0.0:8088", true),
            ("http://192.168.1.5", "0.0.0.0:80", true),
            ("http://[fe80::1]:81", "[::]:81", true),
            ("https://clips.example.org", "127.0.0.1:8080", true),
            ("https://127.0.0.1:8443", "127.0.0.1:8080", true),
            ("http://127.0.0.1:8088/camhub", "127.0.0.1:8080", true),
        ] {
            let listen = listen_address(url).unwrap();
            assert_eq!(listen.address, address, "{url}");
            assert_eq!(listen.note.is_some(), noted, "{url}: {:?}", listen.note);
        }
        assert!(listen_address("ftp://x").is_err());
    }
}
