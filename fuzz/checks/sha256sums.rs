//! camhub-update's SHA256SUMS reader on any bytes. The first line names the
//! file asked about, the rest is the SHA256SUMS text. Whatever it finds must
//! be one lowercase hash, and a later line giving the file another hash must
//! always turn that into a refusal (sha256sum -c fails on it).

use update::sums::{Listed, listed_sum};

fn is_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub fn run(data: &[u8]) {
    let (name, sums) = match data.iter().position(|&b| b == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (data, &[][..]),
    };
    let Ok(name) = std::str::from_utf8(name) else {
        return;
    };
    match listed_sum(sums, name) {
        Listed::Absent => {}
        Listed::Conflicting(lines) => {
            assert!(lines.len() >= 2, "a conflict needs two lines: {lines:?}");
            assert!(lines.windows(2).all(|w| w[0].0 < w[1].0), "{lines:?}");
            assert!(lines.iter().all(|(_, h)| is_hash(h)), "{lines:?}");
            assert!(lines.iter().any(|(_, h)| *h != lines[0].1), "{lines:?}");
        }
        Listed::Hash(hash) => {
            assert!(is_hash(&hash), "not a lowercase SHA-256: {hash:?}");
            // An empty name is "." once normalised; no line can name it.
            if name.is_empty() {
                return;
            }
            let other = if hash.starts_with('0') { "1" } else { "0" }.repeat(64);
            let mut more = sums.to_vec();
            if !more.is_empty() && !more.ends_with(b"\n") {
                more.push(b'\n');
            }
            more.extend(format!("SHA256 ({name}) = {other}\n").as_bytes());
            assert!(
                matches!(listed_sum(&more, name), Listed::Conflicting(_)),
                "a later line with another hash for {name:?} was not a conflict"
            );
        }
    }
}
