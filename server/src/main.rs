//! camhub-server: stores sealed clips uploaded by cameras and serves them to
//! viewing clients. It never sees a clip's content: clips are sealed on the hub.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use server::{config, conn, routes, store};

/// Stores sealed clips from cameras and serves them to viewing clients.
///
/// Cameras upload with POST /clips/<camera>/<name> and their upload token;
/// clients list with GET /clips/<camera> and download with
/// GET /clips/<camera>/<name> and a viewing token (Authorization: Bearer)
/// that the config gives that camera.
///
/// Exit codes: 1 the server could not run (cannot listen, data folder
/// unusable), 2 the config or the command line is unusable.
#[derive(Debug, Parser)]
#[command(name = "camhub-server", bin_name = "camhub-server", version)]
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
    /// Threads for file work (writes, syncs, hashing a stored clip for a
    /// 409); with --threads and the main thread, all the server ever runs.
    #[arg(long, default_value_t = 16)]
    blocking_threads: usize,
    /// Connections served at once; more are answered 503 at once.
    #[arg(long, default_value_t = 128)]
    max_connections: usize,
    /// How long a client may take to send a request's head.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    header_timeout: Duration,
    /// How long a connection may move no byte either way (a client that
    /// stops sending an upload, or stops reading a download).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    idle_timeout: Duration,
    /// How long a whole upload may take.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    body_timeout: Duration,
}

fn run(cli: &Cli) -> Result<()> {
    let mut settings = config::load(&cli.config)?;
    if let Some(listen) = &cli.listen {
        settings.listen = listen.clone();
    }
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "{}: cannot create the data folder",
            settings.data_dir.display()
        )
    })?;
    for path in store::remove_unfinished_uploads(&settings.data_dir).with_context(|| {
        format!(
            "{}: cannot clean unfinished uploads",
            settings.data_dir.display()
        )
    })? {
        routes::log_error(&format!("removed an unfinished upload: {}", path.display()));
    }
    let listener = std::net::TcpListener::bind(&settings.listen)
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        // Tokio's default (512) would let a burst of file work, such as many
        // 409s each hashing a stored clip, start a thread per request.
        .max_blocking_threads(cli.blocking_threads.max(1))
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let limits = conn::Limits {
        max_connections: cli.max_connections.max(1),
        header_timeout: cli.header_timeout,
        idle_timeout: cli.idle_timeout,
    };
    let state = Arc::new(routes::State {
        settings,
        body_timeout: cli.body_timeout,
    });
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{addr}")?;
        stdout.flush()?;
        drop(stdout);
        conn::serve(listener, state, limits).await;
        Ok(())
    })
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(&cli) {
        eprintln!("camhub-server: {e:#}");
        let unusable_config = e.downcast_ref::<config::ConfigError>().is_some();
        std::process::exit(if unusable_config { 2 } else { 1 });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
