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
        Command::Node(args) => videojobs::client::node(args).await,
        Command::Pause(args) => videojobs::client::pause(args).await,
        Command::Resume(args) => videojobs::client::resume(args).await,
        Command::Pauses(args) => videojobs::client::pauses(args).await,
        Command::Console(args) => {
            println!("{}", videojobs::client::console_link(&args)?);
            Ok(())
        }
        Command::Logs(args) => videojobs::client::logs(args).await,
    }
}

/// `videojobs health`: one service's status, or (without `--service`) the
/// node's and each of its dependencies' (those it does not use are not
/// listed). Fails only when the node cannot serve (the overall status):
/// Redis down degrades dispatch, not service.
async fn check_health(addr: &str, service: &str) -> anyhow::Result<()> {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    use videojobs::app::{JOB_SERVICE, NOTE_SERVICE, health};
    let channel = tonic::transport::Endpoint::from_shared(addr.to_string())?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(3))
        .connect()
        .await
        .with_context(|| format!("cannot reach {addr}"))?;
    let mut client = HealthClient::new(channel);
    let mut check = async |name: &str| -> anyhow::Result<Option<ServingStatus>> {
        match client.check(HealthCheckRequest { service: name.into() }).await {
            Ok(response) => {
                Ok(Some(ServingStatus::try_from(response.into_inner().status).unwrap_or(ServingStatus::Unknown)))
            }
            Err(status) if status.code() == tonic::Code::NotFound && !name.is_empty() => Ok(None),
            Err(status) => Err(status.into()),
        }
    };
    if !service.is_empty() {
        let status = check(service).await?.with_context(|| format!("no health service named {service:?}"))?;
        println!("{}", status.as_str_name());
        anyhow::ensure!(status == ServingStatus::Serving, "not serving");
        return Ok(());
    }
    let overall = check("").await?.unwrap_or(ServingStatus::Unknown);
    println!("{:<34}{}", "videojobs", overall.as_str_name());
    for name in [JOB_SERVICE, NOTE_SERVICE, health::POSTGRESQL, health::SQLITE, health::REDIS] {
        if let Some(status) = check(name).await? {
            println!("{name:<34}{}", status.as_str_name());
        }
    }
    anyhow::ensure!(overall == ServingStatus::Serving, "the node cannot serve");
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
