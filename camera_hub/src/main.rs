#[cfg(all(feature = "raspberry", feature = "ip"))]
compile_error!("camera_hub: enable exactly one of the features `raspberry` and `ip`, not both");
#[cfg(not(any(feature = "raspberry", feature = "ip")))]
compile_error!(
    "camera_hub: enable exactly one of the features `raspberry` (camhub-raspberry) and `ip` (camhub-ip)"
);

use std::path::PathBuf;

use anyhow::Result;
use camera_hub::pipeline::Hub;
use camera_hub::source::FrameSource;
use clap::Parser;
use hubcore::config::{self, HubConfig};

/// The released binary's name (the release matrix's `bin`), which is what
/// users run and what their error lines must name.
#[cfg(feature = "raspberry")]
const PROGRAM: &str = "camhub-raspberry";
#[cfg(feature = "ip")]
const PROGRAM: &str = "camhub-ip";

#[cfg(feature = "raspberry")]
const ABOUT: &str = "camhub-raspberry: records clips around motion from the Raspberry Pi camera, seals them and uploads them to the server.";
#[cfg(feature = "ip")]
const ABOUT: &str = "camhub-ip: records clips around motion from an IP camera's MJPEG stream, seals them and uploads them to the server.";

#[cfg(feature = "raspberry")]
const SOURCE_HELP: &str = "The camera is the shell command in hub.json's `camera_command` (rpicam-vid -t 0 --codec mjpeg -o - if absent), which must print MJPEG on stdout.";
#[cfg(feature = "ip")]
const SOURCE_HELP: &str = "The camera is the MJPEG-over-HTTP stream at hub.json's `camera_url`.";

const EXIT_CODES: &str = "Exit codes: 0 the camera stopped, 1 an error (a bad config, or a camera that failed or could not be reached; the clip being recorded is sealed and kept first).";

#[derive(Debug, Parser)]
#[command(name = PROGRAM, bin_name = PROGRAM, version, about = ABOUT)]
#[command(after_help = format!("{SOURCE_HELP}\n\n{EXIT_CODES}"))]
struct Cli {
    /// The hub's config file, as written by `camhub-config new` (server URL,
    /// upload token, clip key, camera, clip folder).
    #[arg(long, default_value = "hub.json")]
    config: PathBuf,
}

#[cfg(feature = "raspberry")]
fn open_source(config: &HubConfig) -> Result<Box<dyn FrameSource>> {
    let command = config
        .camera_command
        .as_deref()
        .unwrap_or(config::DEFAULT_CAMERA_COMMAND);
    Ok(Box::new(camera_hub::source::CommandSource::spawn(command)?))
}

#[cfg(feature = "ip")]
fn open_source(config: &HubConfig) -> Result<Box<dyn FrameSource>> {
    let Some(url) = &config.camera_url else {
        anyhow::bail!(
            "the config has no `camera_url`; the IP camera hub reads the camera's MJPEG stream from it"
        );
    };
    Ok(Box::new(camera_hub::source::HttpSource::connect(
        url,
        &config.stream,
    )?))
}

fn run(cli: &Cli) -> Result<()> {
    let hub_config: HubConfig = config::load(&cli.config)?;
    let hub = Hub::new(&cli.config, hub_config.clone())?;
    let mut source = open_source(&hub_config)
        .map_err(|e| e.context(format!("{}: camera source", cli.config.display())))?;
    hub.run(source.as_mut())?;
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(&cli) {
        eprintln!("{PROGRAM}: {e:#}");
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
