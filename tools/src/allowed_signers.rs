//! OpenSSH allowed-signers files (`principals [options] keytype base64
//! [comment]`), read so as never to trust more than `ssh-keygen -Y verify`:
//! a line ssh-keygen could not use is refused, and a line whose restrictions
//! repro does not implement (certificate authorities, validity windows,
//! namespace patterns) is left out with a warning.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ssh_key::PublicKey;

use crate::attest::NAMESPACE;
use crate::style::escape_untrusted;

/// A larger allowed-signers file is refused: a thousand keys take 100 KiB.
/// With [`PRINCIPALS_LIMIT`] this bounds matching principals against
/// negated patterns to about a second for the worst file.
pub const LIMIT: u64 = 1 << 20;

/// A line's principals longer than this are refused: each is matched
/// against every negated pattern of its line, so the work grows with the
/// square of this. Real principals (`name@example.org`, a few per line) are
/// far shorter.
const PRINCIPALS_LIMIT: usize = 1024;

/// One trusted key from an OpenSSH allowed-signers file.
#[derive(Debug, Clone)]
pub struct AllowedSigner {
    pub principal: String,
    pub key: PublicKey,
}

/// Reads and parses an allowed-signers file: the signers, and warnings for
/// entries left out.
pub fn read(path: &Path) -> Result<(Vec<AllowedSigner>, Vec<String>)> {
    let bytes = crate::hashing::read_regular(path, LIMIT).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e}; pass the allowed-signers file (OpenSSH format)",
            path.display()
        )
    })?;
    let text = String::from_utf8(bytes)
        .ok()
        .with_context(|| format!("{}: not UTF-8 text", path.display()))?;
    parse(&text, &path.display().to_string())
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Splits off the principals as OpenSSH's strdelimw does: a word that starts
/// with `"` ends at the next `"`; None if that quote is not closed.
fn principals_word(text: &str) -> Option<(&str, &str)> {
    match text.strip_prefix('"') {
        Some(quoted) => {
            let end = quoted.find('"')?;
            Some((
                &quoted[..end],
                quoted[end + 1..].trim_start_matches(is_space),
            ))
        }
        None => Some(plain_word(text)),
    }
}

/// Splits off a word that ends at the first blank, quotes or not: a key
/// type, which sshkey_read takes as it is (a quoted one is no key type).
fn plain_word(text: &str) -> (&str, &str) {
    let end = text.find(is_space).unwrap_or(text.len());
    (&text[..end], text[end..].trim_start_matches(is_space))
}

/// The options word: up to the first space outside double quotes.
fn options_word(text: &str) -> Result<(&str, &str), &'static str> {
    let mut quoted = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if quoted && c == '\\' && chars.peek().is_some_and(|(_, n)| *n == '"') {
            chars.next();
        } else if c == '"' {
            quoted = !quoted;
        } else if !quoted && is_space(c) {
            return Ok((&text[..i], text[i..].trim_start_matches(is_space)));
        }
    }
    if quoted {
        return Err("unterminated quote in the options");
    }
    Ok((text, ""))
}

#[derive(Debug, Default)]
struct Options {
    cert_authority: bool,
    namespaces: Option<String>,
    validity: bool,
}

/// ssh-keygen's sshsigopt_parse: only these options exist; names are not
/// case-sensitive, values are double-quoted.
fn parse_options(mut text: &str) -> Result<Options, String> {
    let mut options = Options::default();
    while !text.is_empty() {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("cert-authority") {
            options.cert_authority = true;
            text = &text["cert-authority".len()..];
        } else if let Some(name) = ["namespaces=", "valid-after=", "valid-before="]
            .into_iter()
            .find(|n| lower.starts_with(n))
        {
            let rest = &text[name.len()..];
            let Some(value) = rest.strip_prefix('"') else {
                return Err(format!("option `{name}` needs a double-quoted value"));
            };
            let end = value
                .find('"')
                .ok_or_else(|| format!("option `{name}` has no closing quote"))?;
            if name == "namespaces=" {
                if options.namespaces.is_some() {
                    return Err("`namespaces` given twice".into());
                }
                options.namespaces = Some(value[..end].to_owned());
            } else {
                options.validity = true;
            }
            text = &value[end + 1..];
        } else {
            return Err(format!(
                "unknown option in `{text}` (ssh-keygen knows cert-authority, namespaces, valid-after, valid-before)"
            ));
        }
        match text.strip_prefix(',') {
            Some("") => return Err("the options end with a comma".into()),
            Some(rest) => text = rest,
            None if text.is_empty() => {}
            None => return Err(format!("unknown option in `{text}`")),
        }
    }
    Ok(options)
}

/// OpenSSH's match_pattern: `*` and `?` wildcards, with the same answers.
/// Not its recursion, which takes exponential time: `a*a*a*...b` against a
/// run of `a`s hung `repro verify` (fuzz/regressions/allowed_signers/). On a
/// mismatch only the last `*` needs to take one more byte, so this takes at
/// most text × pattern steps.
fn match_pattern(text: &[u8], pattern: &[u8]) -> bool {
    let (mut t, mut p) = (0, 0);
    // Where to resume after the last `*`: (pattern after it, text it took up to).
    let mut last_star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                p += 1;
                last_star = Some((p, t));
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match last_star {
                Some((after, took)) => {
                    p = after;
                    t = took + 1;
                    last_star = Some((after, t));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// OpenSSH's match_pattern_list: true only if some pattern matches and no
/// negated (`!`) pattern does.
fn match_pattern_list(text: &str, list: &str) -> bool {
    let mut positive = false;
    for pattern in list.split(',') {
        match pattern.strip_prefix('!') {
            Some(negated) if match_pattern(text.as_bytes(), negated.as_bytes()) => return false,
            Some(_) => {}
            None if match_pattern(text.as_bytes(), pattern.as_bytes()) => positive = true,
            None => {}
        }
    }
    positive
}

/// Parses allowed-signers text; `file` names it in messages.
pub fn parse(text: &str, file: &str) -> Result<(Vec<AllowedSigner>, Vec<String>)> {
    let mut signers = Vec::new();
    let mut warnings = Vec::new();
    let entries = text
        .split('\n')
        .map(|l| l.trim_start_matches(is_space))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count();
    for (number, line) in text.split('\n').enumerate() {
        let line = line.trim_start_matches(is_space);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{}:{}", escape_untrusted(file), number + 1);
        // A `.pub` file (`ssh-ed25519 AAAA… comment`) passed as is: its first
        // word would be read as the principal and the base64 as options.
        if PublicKey::from_openssh(line.trim_end()).is_ok() {
            let fix = format!(
                "allowed_signers has one `<principal> <key>` line per trusted rebuilder; write it with: echo \"<principal> $(cat {})\" >> allowed_signers (the principal is the name verify reports, e.g. alice@example.org)",
                escape_untrusted(file)
            );
            if entries == 1 {
                bail!(
                    "{}: that file is a public key, not an allowed_signers file: {fix}",
                    escape_untrusted(file)
                );
            }
            bail!("{at}: this line is a bare public key, with no principal: {fix}");
        }
        let (principals, rest) = principals_word(line)
            .with_context(|| format!("{at}: the principals' quote is not closed"))?;
        if principals.len() > PRINCIPALS_LIMIT {
            bail!("{at}: the principals are longer than {PRINCIPALS_LIMIT} bytes");
        }
        if rest.is_empty() {
            bail!("{at}: no key; expected `principals [options] keytype base64`");
        }
        let (first, after_first) = plain_word(rest);
        let (options, key_type, after_type) = if ssh_key::Algorithm::new(first).is_ok() {
            (None, first, after_first)
        } else {
            let (options, rest) =
                options_word(rest).map_err(|why| anyhow::anyhow!("{at}: {why}"))?;
            let (key_type, after) = plain_word(rest);
            if key_type.is_empty() {
                bail!("{at}: no key after the options");
            }
            (Some(options), key_type, after)
        };
        let base64 = after_type.split(is_space).next().unwrap_or_default();
        if base64.is_empty() {
            bail!("{at}: the key has no data");
        }
        let key = PublicKey::from_openssh(&format!("{key_type} {base64}")).map_err(|e| {
            anyhow::anyhow!(
                "{at}: not a public key ({e}); ssh-keygen would not use this line either"
            )
        })?;
        let options = parse_options(options.unwrap_or_default()).map_err(|why| {
            anyhow::anyhow!(
                "{at}: {}; ssh-keygen would not use this line either",
                escape_untrusted(&why)
            )
        })?;
        if options.cert_authority || options.validity {
            warnings.push(format!(
                "{at}: certificate authorities and validity windows are not supported; entry ignored"
            ));
            continue;
        }
        if let Some(namespaces) = &options.namespaces {
            let literal = !namespaces.contains(['*', '?', '!']);
            if !literal || !namespaces.split(',').any(|n| n == NAMESPACE) {
                warnings.push(format!(
                    "{at}: namespaces=\"{}\" does not name {NAMESPACE} (patterns are not supported); entry ignored",
                    escape_untrusted(namespaces)
                ));
                continue;
            }
        }
        // A principal counts only if ssh-keygen would accept it as itself
        // (`-I name`): a negated entry, or one a negation excludes, never does.
        for principal in principals.split(',') {
            if !principal.is_empty()
                && !principal.starts_with('!')
                && match_pattern_list(principal, principals)
            {
                signers.push(AllowedSigner {
                    principal: principal.to_owned(),
                    key: key.clone(),
                });
            }
        }
    }
    Ok((signers, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_openssh_does() {
        assert!(match_pattern_list("alice", "bob,alice"));
        assert!(match_pattern_list("alice", "a*"));
        assert!(!match_pattern_list("alice", "*,!alice"));
        assert!(!match_pattern_list("!alice", "!alice"));
        assert!(match_pattern_list("a?c", "a?c"));
    }

    #[test]
    fn principals_past_the_limit_are_refused() {
        let line = |principals: &str| format!("{principals} ssh-ed25519\n");
        let at_limit = "a".repeat(PRINCIPALS_LIMIT);
        let error = parse(&line(&at_limit), "f").unwrap_err().to_string();
        assert_eq!(error, "f:1: the key has no data");
        let error = parse(&line(&format!("{at_limit},b")), "f").unwrap_err();
        assert_eq!(
            error.to_string(),
            "f:1: the principals are longer than 1024 bytes"
        );
    }

    /// OpenSSH's recursive match_pattern, as it was here before it hung.
    fn openssh_match(text: &[u8], pattern: &[u8]) -> bool {
        match (pattern.first(), text.first()) {
            (None, _) => text.is_empty(),
            (Some(b'*'), _) => {
                (0..=text.len()).any(|skip| openssh_match(&text[skip..], &pattern[1..]))
            }
            (Some(b'?'), Some(_)) => openssh_match(&text[1..], &pattern[1..]),
            (Some(p), Some(t)) if p == t => openssh_match(&text[1..], &pattern[1..]),
            _ => false,
        }
    }

    #[test]
    fn patterns_give_openssh_answers_for_every_short_text_and_pattern() {
        let words: Vec<Vec<u8>> = (0..=4u32)
            .flat_map(|len| {
                (0..4usize.pow(len)).map(move |n| {
                    (0..len)
                        .map(|i| b"ab*?"[n / 4usize.pow(i) % 4])
                        .collect::<Vec<u8>>()
                })
            })
            .collect();
        for text in &words {
            for pattern in &words {
                assert_eq!(
                    match_pattern(text, pattern),
                    openssh_match(text, pattern),
                    "{:?} against {:?}",
                    String::from_utf8_lossy(text),
                    String::from_utf8_lossy(pattern)
                );
            }
        }
    }

    #[test]
    fn options_are_those_of_ssh_keygen_only() {
        assert!(parse_options("NAMESPACES=\"x\",cert-authority").is_ok());
        assert!(parse_options("restrict").is_err());
        assert!(parse_options("namespaces=x").is_err());
        assert!(parse_options("namespaces=\"a\",namespaces=\"b\"").is_err());
        assert!(parse_options("namespaces=\"a\",").is_err());
    }
}
