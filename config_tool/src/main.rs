//! camhub-config: creates the matching config files for a hub, the server and
//! a viewing client, prints a pairing QR code, and opens downloaded clips.

mod files;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use hubcore::config::{
    self, ClientConfig, HubConfig, MotionConfig, ServerConfig, StreamConfig, UploadConfig,
};
use hubcore::secret;

/// Creates the credentials and config files for a hub, the server and a viewing client.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write hub.json, server.json and client.json with fresh random tokens and key.
    ///
    /// The hub and the client share the clip key; the server only ever gets
    /// tokens, never the key. Existing files are kept unless --force; the
    /// three are written together or not at all.
    New {
        /// The folder to write the three files to.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// The server's URL as hubs and clients reach it, e.g. https://clips.example.org.
        #[arg(long)]
        server_url: String,
        /// The camera's name: letters, digits, '-', '_' and '.'.
        #[arg(long)]
        camera_id: String,
        /// For an IP camera: the URL of its MJPEG stream.
        #[arg(long)]
        camera_url: Option<String>,
        /// The viewing client's name in server.json.
        #[arg(long, default_value = "viewer")]
        client_name: String,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
        /// Also print client.json as a QR code for pairing a phone.
        #[arg(long)]
        qr: bool,
    },
    /// Print a client config as a QR code in the terminal.
    Qr {
        /// The client config, e.g. client.json.
        client: PathBuf,
    },
    /// Decrypt a clip downloaded from the server with a client config.
    OpenClip {
        /// The client config holding the key.
        #[arg(long, default_value = "client.json")]
        client: PathBuf,
        /// The sealed clip file; its file name must be the clip's name on the server.
        clip: PathBuf,
        /// Where to write the MJPEG clip.
        #[arg(long, short)]
        out: PathBuf,
        /// Replace the --out file if it exists.
        #[arg(long)]
        force: bool,
    },
}

fn new_configs(
    out: &Path,
    server_url: &str,
    camera_id: &str,
    camera_url: Option<&str>,
    client_name: &str,
    force: bool,
) -> Result<ClientConfig> {
    for (what, name) in [("camera id", camera_id), ("client name", client_name)] {
        if !hubcore::is_safe_name(name) {
            bail!("{what} `{name}` must be letters, digits, '-', '_' or '.'");
        }
    }
    hubcore::server_url::check(server_url).context("--server-url")?;
    let paths = ["hub.json", "server.json", "client.json"].map(|f| out.join(f));
    fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let (camera_token, client_token, key) = (
        secret::random_hex32()?,
        secret::random_hex32()?,
        secret::random_hex32()?,
    );
    let hub = HubConfig {
        camera_id: camera_id.into(),
        server_url: server_url.into(),
        token: camera_token.clone(),
        key: key.clone(),
        clip_dir: "clips".into(),
        camera_command: None,
        camera_url: camera_url.map(str::to_owned),
        motion: MotionConfig::default(),
        upload: UploadConfig::default(),
        stream: StreamConfig::default(),
    };
    let server = ServerConfig {
        listen: "127.0.0.1:8080".into(),
        data_dir: "data".into(),
        max_upload_bytes: 64 << 20,
        cameras: BTreeMap::from([(camera_id.to_owned(), camera_token)]),
        clients: BTreeMap::from([(client_name.to_owned(), client_token.clone())]),
    };
    let client = ClientConfig {
        server_url: server_url.into(),
        camera_id: camera_id.into(),
        token: client_token,
        key,
    };
    let (hub, server, client_json) = (
        config::to_json(&hub),
        config::to_json(&server),
        config::to_json(&client),
    );
    files::write_all_or_none(
        &[
            (&paths[0], &hub),
            (&paths[1], &server),
            (&paths[2], &client_json),
        ],
        force,
    )?;
    Ok(client)
}

fn qr_text(client: &ClientConfig) -> Result<String> {
    let payload = serde_json::to_string(client)?;
    let code = qrcode::QrCode::new(payload.as_bytes())
        .context("the client config is too large for a QR code")?;
    Ok(code
        .render::<qrcode::render::unicode::Dense1x2>()
        .quiet_zone(true)
        .build())
}

fn run(cli: Cli) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::New {
            out: dir,
            server_url,
            camera_id,
            camera_url,
            client_name,
            force,
            qr,
        } => {
            let client = new_configs(
                &dir,
                &server_url,
                &camera_id,
                camera_url.as_deref(),
                &client_name,
                force,
            )?;
            for file in ["hub.json", "server.json", "client.json"] {
                writeln!(out, "wrote {}", dir.join(file).display())?;
            }
            writeln!(
                out,
                "copy hub.json to the camera hub, server.json to the server; keep client.json private"
            )?;
            if qr {
                writeln!(out, "{}", qr_text(&client)?)?;
            }
        }
        Command::Qr { client } => {
            let client: ClientConfig = config::load(&client)?;
            writeln!(out, "{}", qr_text(&client)?)?;
        }
        Command::OpenClip {
            client: client_path,
            clip,
            out: target,
            force,
        } => {
            let client: ClientConfig = config::load(&client_path)?;
            let key = secret::key_from_hex(&client.key)
                .with_context(|| format!("{}: field `key`", client_path.display()))?;
            let name = clip
                .file_name()
                .and_then(|n| n.to_str())
                .context("the clip path has no file name")?;
            let sealed = files::read_regular(&clip, MAX_CLIP_BYTES)?;
            let plain = hubcore::clip::open(&key, &client.camera_id, name, &sealed)
                .with_context(|| format!("{}", clip.display()))?;
            files::write_all_or_none(&[(&target, &plain)], force)?;
            writeln!(out, "wrote {} ({} bytes)", target.display(), plain.len())?;
        }
    }
    Ok(())
}

/// Far above any clip a hub records (it splits clips well below the server's limit).
const MAX_CLIP_BYTES: u64 = 1 << 30;

/// Control characters from paths and arguments shown escaped, so an error
/// line cannot drive the terminal.
fn escape_control(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
        {
            return;
        }
        eprintln!("camhub-config: {}", escape_control(&format!("{e:#}")));
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
