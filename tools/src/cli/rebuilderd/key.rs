use std::io::Write;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::Verdict;
use crate::rebuilderd::api::{self, ClientArgs};
use crate::rebuilderd::{daemon_key, trust};
use crate::style::escape_untrusted;

/// Print a rebuilderd instance's daemon signing key(s), in the form the rebuilders file pins.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The instance's address (http:// or https://, the root that serves /api/v1).
    #[arg(value_name = "URL")]
    pub url: String,
    #[command(flatten)]
    pub client: ClientArgs,
    /// Print a JSON document instead of one `ed25519:<hex>` line per key.
    #[arg(long)]
    pub json: bool,
}

/// `repro rebuilderd key --json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct KeyReport {
    pub url: String,
    /// Each current key, `ed25519:<64 hex>`, in the order the daemon lists them.
    pub keys: Vec<String>,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let base = api::base_url(&args.url)?;
    let pems = args.client.client().public_keys(&base)?;
    if pems.is_empty() {
        bail!(
            "{base}/api/v1/meta/public-keys lists no key; the daemon has not made its signing key yet (it does on start): check its log"
        );
    }
    let mut keys = Vec::new();
    for (i, pem) in pems.iter().enumerate() {
        let key = daemon_key::from_pem(pem).map_err(|e| {
            anyhow::anyhow!(
                "{base}/api/v1/meta/public-keys: key {} of {}: {}",
                i + 1,
                pems.len(),
                escape_untrusted(&format!("{e:#}"))
            )
        })?;
        keys.push(trust::format_key(&key));
    }
    if args.json {
        let report = KeyReport { url: base, keys };
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        for key in keys {
            writeln!(out, "{key}")?;
        }
    }
    Ok(Verdict::Passed)
}
