//! The `videojobs` command: `serve` runs the service, `token` prints a bearer
//! token for a user.
#![forbid(unsafe_code)]

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use videojobs::auth::Authenticator;
use videojobs::config::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(&cli.log_format);
    match cli.command {
        Command::Serve(args) => {
            let listen = args.listen;
            let config = args.into_config()?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            videojobs::app::run(config, listener, shutdown_signal()).await
        }
        Command::Token(args) => {
            let secret = Authenticator::secret_from(args.jwt_secret.as_ref(), &args.data_dir)?;
            let token = Authenticator::new(&secret)
                .issue(&args.user, Duration::from_secs(args.ttl_secs))?;
            println!("{token}");
            Ok(())
        }
    }
}

fn init_tracing(format: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
