//! repro's OpenSSH allowed-signers reader on any bytes, as `allowed_signers::read`
//! gives them to it: every trusted principal is one of a line's own
//! principals, never empty or negated.

pub fn run(data: &[u8]) {
    // `read` refuses text that is not UTF-8 before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match repro::allowed_signers::parse(text, "allowed_signers") {
        Err(e) => {
            let _ = format!("{e:#}");
        }
        Ok((signers, warnings)) => {
            assert!(warnings.len() <= text.split('\n').count());
            assert!(signers.len() <= text.len());
            for signer in &signers {
                let principal = &signer.principal;
                assert!(!principal.is_empty() && !principal.starts_with('!'));
                assert!(!principal.contains(',') && text.contains(principal.as_str()));
            }
        }
    }
}
