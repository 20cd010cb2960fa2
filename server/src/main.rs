//! camhub-server: stores sealed clips uploaded by cameras and serves them to
//! viewing clients. It never sees a clip's content: clips are sealed on the hub.

mod routes;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use hubcore::config::{self, ServerConfig};

/// Stores sealed clips from cameras and serves them to viewing clients.
///
/// Cameras upload with POST /clips/<camera>/<name> and their upload token;
/// clients list with GET /clips/<camera> and download with
/// GET /clips/<camera>/<name> and a viewing token (Authorization: Bearer).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The server's config file, as written by `camhub-config new`.
    #[arg(long, default_value = "server.json")]
    config: PathBuf,
    /// Overrides the config's `listen` (host:port; port 0 picks a free one).
    #[arg(long)]
    listen: Option<String>,
    /// Request-handling threads.
    #[arg(long, default_value_t = 4)]
    threads: usize,
}

fn run(cli: &Cli) -> Result<()> {
    let mut server_config: ServerConfig = config::load(&cli.config)?;
    if let Some(listen) = &cli.listen {
        server_config.listen = listen.clone();
    }
    server_config.data_dir = config::relative_to(&cli.config, &server_config.data_dir);
    std::fs::create_dir_all(&server_config.data_dir).with_context(|| {
        format!(
            "{}: cannot create the data folder",
            server_config.data_dir.display()
        )
    })?;
    let http = tiny_http::Server::http(&server_config.listen)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", server_config.listen))?;
    let addr = http.server_addr().to_ip().context("not an IP listener")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{addr}")?;
    stdout.flush()?;
    drop(stdout);

    let http = Arc::new(http);
    let state = Arc::new(server_config);
    let workers: Vec<_> = (0..cli.threads.max(1))
        .map(|_| {
            let (http, state) = (Arc::clone(&http), Arc::clone(&state));
            std::thread::spawn(move || {
                while let Ok(request) = http.recv() {
                    routes::handle(&state, request);
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(&cli) {
        eprintln!("camhub-server: {e:#}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn binds_to_loopback_unless_told_otherwise() {
        let config: hubcore::config::ServerConfig =
            serde_json::from_str(r#"{"data_dir":"d","cameras":{},"clients":{}}"#).unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080");
    }
}
