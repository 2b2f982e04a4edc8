//! The `videojobs` command: `serve` runs the service, `token` prints a bearer
//! token for a user.
#![forbid(unsafe_code)]

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use videojobs::auth::Authenticator;
use videojobs::cli::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(&cli.log_format);
    match cli.command {
        Command::Serve(args) => {
            let listen = args.listen;
            let config = args.into_config()?;
            let listener =
                tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
            videojobs::app::run(config, listener, shutdown_signal()).await
        }
        Command::Token(args) => {
            let secret = Authenticator::secret_from(args.jwt_secret.as_ref(), &args.data_dir)?;
            let (auth, ttl) = (Authenticator::new(&secret), Duration::from_secs(args.ttl_secs));
            let token = if args.admin { auth.issue_admin(&args.user, ttl)? } else { auth.issue(&args.user, ttl)? };
            println!("{token}");
            Ok(())
        }
        Command::Health(args) => check_health(&args.addr, &args.service).await,
        Command::Submit(args) => videojobs::client::submit(args).await,
        Command::Jobs(args) => videojobs::client::jobs(args).await,
        Command::Watch(args) => videojobs::client::watch(args).await,
        Command::Notes(args) => videojobs::client::notes(args).await,
        Command::Logs(args) => videojobs::client::logs(args).await,
    }
}

async fn check_health(addr: &str, service: &str) -> anyhow::Result<()> {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    let channel = tonic::transport::Endpoint::from_shared(addr.to_string())?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(3))
        .connect()
        .await
        .with_context(|| format!("cannot reach {addr}"))?;
    let response = HealthClient::new(channel).check(HealthCheckRequest { service: service.into() }).await?.into_inner();
    let status = ServingStatus::try_from(response.status).unwrap_or(ServingStatus::Unknown);
    println!("{}", status.as_str_name());
    anyhow::ensure!(status == ServingStatus::Serving, "not serving");
    Ok(())
}

fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
