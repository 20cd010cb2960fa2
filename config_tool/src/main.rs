//! camhub-config: creates the matching config files for a hub, the server and
//! a viewing client, prints a pairing QR code, lists and downloads a camera's
//! clips, and opens downloaded clips.

mod clips;
mod files;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use hubcore::config::{
    self, ClientConfig, HubConfig, MotionConfig, ServerConfig, StreamConfig, UploadConfig,
};
use hubcore::{secret, server_url};

/// Creates the credentials and config files for a hub, the server and a
/// viewing client, and downloads and opens clips as that client.
///
/// The way through: `new` writes the three configs; the server and a hub run
/// on theirs; `clips list` and `clips get` fetch a clip with client.json;
/// `open-clip` decrypts it.
///
/// Exit codes: 0 done; 1 failed: the server could not be reached or
/// answered with an error, a clip did not open with the key, or a file could
/// not be written; 2 unusable input: a config file, an argument, or an
/// output file that already exists (nothing was written).
#[derive(Debug, Parser)]
#[command(name = "camhub-config", bin_name = "camhub-config", version)]
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
        /// The server's URL as hubs and clients reach it, e.g. http://127.0.0.1:8088.
        ///
        /// server.json then listens where this URL points: an http:// URL on
        /// a loopback host (127.0.0.1, ::1, localhost) on that address and
        /// port; any other http:// host on every interface (0.0.0.0 or [::])
        /// on the URL's port; an https:// URL, or one with a path, on
        /// 127.0.0.1:8080 behind a reverse proxy you put in front.
        #[arg(long)]
        server_url: String,
        /// Where server.json listens (host:port) instead of the address
        /// derived from --server-url, e.g. 192.168.1.5:8088 for one interface.
        #[arg(long, value_name = "HOST:PORT")]
        listen: Option<String>,
        /// The camera's name: letters, digits, '-', '_' and '.'.
        #[arg(long)]
        camera_id: String,
        /// For an IP camera (camhub-ip): the URL of its MJPEG stream.
        #[arg(long)]
        camera_url: Option<String>,
        /// For a Raspberry Pi camera (camhub-raspberry): the shell command
        /// printing MJPEG on stdout; `rpicam-vid -t 0 --codec mjpeg -o -` if not given.
        #[arg(long, value_name = "COMMAND", conflicts_with = "camera_url")]
        camera_command: Option<String>,
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
    /// List and download the camera's clips from the server, as client.json's viewer.
    Clips {
        #[command(subcommand)]
        command: ClipsCommand,
    },
    /// Print a client config as a QR code in the terminal.
    Qr {
        /// The client config, e.g. client.json.
        client: PathBuf,
    },
    /// Decrypt a clip downloaded from the server with a client config.
    ///
    /// The clip is authenticated first: a clip altered, renamed, or of
    /// another camera does not open (exit 1) and nothing is written.
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

#[derive(Debug, Subcommand)]
enum ClipsCommand {
    /// Print the camera's clips on the server: one a line, name then size.
    List {
        #[command(flatten)]
        server: ServerArgs,
        /// Print one JSON array of {"name", "size"} instead.
        #[arg(long)]
        json: bool,
    },
    /// Download one clip, still sealed, byte for byte; `open-clip` decrypts it.
    Get {
        /// The clip's name, as `clips list` prints it.
        name: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Where to write it (inside it under NAME if it is a folder); NAME in
        /// the current folder by default. Keep NAME as the file name:
        /// `open-clip` takes the clip's name from it.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Replace the output file if it exists.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
struct ServerArgs {
    /// The client config: the server's URL, the camera and the viewing token.
    #[arg(long, default_value = "client.json")]
    client: PathBuf,
    /// The longest wait to connect, for the reply, and between two reads
    /// of it (e.g. 30s, 2m).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

/// Unusable input (exit 2): a config file, an argument or an existing output
/// file; nothing was written.
#[derive(Debug)]
pub struct Unusable(anyhow::Error);

impl From<anyhow::Error> for Unusable {
    fn from(e: anyhow::Error) -> Unusable {
        Unusable(e)
    }
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for Unusable {}

/// `host:port` with a numeric port, as camhub-server binds it.
fn check_listen(listen: &str) -> Result<()> {
    let shown = escape_control(listen);
    match listen.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => bail!("--listen `{shown}` must be host:port, e.g. 127.0.0.1:8088 or 0.0.0.0:8088"),
    }
}

/// What `new` writes the configs from.
struct NewConfigs<'a> {
    out: &'a Path,
    server_url: &'a str,
    listen: Option<&'a str>,
    camera_id: &'a str,
    camera_url: Option<&'a str>,
    camera_command: Option<&'a str>,
    client_name: &'a str,
    force: bool,
}

/// The configs written: the client's, and where the server listens with
/// what the user must know about it.
fn new_configs(new: &NewConfigs) -> Result<(ClientConfig, server_url::Listen)> {
    let NewConfigs {
        out,
        server_url,
        listen,
        camera_id,
        camera_url,
        camera_command,
        client_name,
        force,
    } = *new;
    for (what, name) in [("camera id", camera_id), ("client name", client_name)] {
        if !hubcore::is_safe_name(name) {
            return Err(Unusable::from(anyhow::anyhow!(
                "{what} `{}` must be letters, digits, '-', '_' or '.'",
                escape_control(name)
            ))
            .into());
        }
    }
    let mut listening = server_url::listen_address(server_url)
        .context("--server-url")
        .map_err(Unusable::from)?;
    if let Some(listen) = listen {
        check_listen(listen).map_err(Unusable::from)?;
        listening = server_url::Listen {
            address: listen.to_owned(),
            note: None,
        };
    }
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
        camera_command: camera_command.map(str::to_owned),
        camera_url: camera_url.map(str::to_owned),
        motion: MotionConfig::default(),
        upload: UploadConfig::default(),
        stream: StreamConfig::default(),
    };
    let server = ServerConfig {
        listen: listening.address.clone(),
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
    Ok((client, listening))
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
            listen,
            camera_id,
            camera_url,
            camera_command,
            client_name,
            force,
            qr,
        } => {
            let (client, listening) = new_configs(&NewConfigs {
                out: &dir,
                server_url: &server_url,
                listen: listen.as_deref(),
                camera_id: &camera_id,
                camera_url: camera_url.as_deref(),
                camera_command: camera_command.as_deref(),
                client_name: &client_name,
                force,
            })?;
            for file in ["hub.json", "server.json", "client.json"] {
                writeln!(out, "wrote {}", dir.join(file).display())?;
            }
            writeln!(
                out,
                "hubs and clients reach the server at {server_url}; server.json listens on {}",
                listening.address
            )?;
            if let Some(note) = &listening.note {
                writeln!(out, "note: {note}")?;
            }
            writeln!(
                out,
                "copy hub.json to the camera hub, server.json to the server; keep client.json private"
            )?;
            if qr {
                writeln!(out, "{}", qr_text(&client)?)?;
            }
        }
        Command::Clips { command } => clips_command(command, &mut out)?,
        Command::Qr { client } => {
            let client: ClientConfig = config::load(&client).map_err(Unusable::from)?;
            writeln!(out, "{}", qr_text(&client)?)?;
        }
        Command::OpenClip {
            client: client_path,
            clip,
            out: target,
            force,
        } => {
            let client: ClientConfig = config::load(&client_path).map_err(Unusable::from)?;
            let key = secret::key_from_hex(&client.key)
                .with_context(|| format!("{}: field `key`", client_path.display()))
                .map_err(Unusable::from)?;
            let name = clip
                .file_name()
                .and_then(|n| n.to_str())
                .context("the clip path has no file name")
                .map_err(Unusable::from)?;
            let sealed = files::read_regular(&clip, MAX_CLIP_BYTES)?;
            let plain = hubcore::clip::open(&key, &client.camera_id, name, &sealed)
                .with_context(|| format!("{}", clip.display()))?;
            files::write_all_or_none(&[(&target, &plain)], force)?;
            writeln!(
                out,
                "wrote {} ({})",
                target.display(),
                hubcore::counted(plain.len() as u64, "byte", "bytes")
            )?;
        }
    }
    Ok(())
}

fn clips_command(command: ClipsCommand, out: &mut dyn Write) -> Result<()> {
    match command {
        ClipsCommand::List { server, json } => {
            let server = clips::Server::from_client(&server.client, server.timeout)?;
            clips::print_list(&server.list()?, json, out)?;
        }
        ClipsCommand::Get {
            name,
            server,
            out: target,
            force,
        } => {
            let server = clips::Server::from_client(&server.client, server.timeout)?;
            let target = clips::target(&name, target.as_deref());
            let size = clips::get(&server, &name, &target, force, MAX_CLIP_BYTES)?;
            writeln!(
                out,
                "wrote {} ({})",
                escape_control(&target.display().to_string()),
                hubcore::counted(size, "byte", "bytes")
            )?;
        }
    }
    Ok(())
}

/// Far above any clip a hub records (it splits clips well below the server's limit).
const MAX_CLIP_BYTES: u64 = 1 << 30;

/// Control characters from paths and arguments shown escaped, so an error
/// line cannot drive the terminal.
pub fn escape_control(text: &str) -> String {
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
        std::process::exit(if e.downcast_ref::<Unusable>().is_some() {
            2
        } else {
            1
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
