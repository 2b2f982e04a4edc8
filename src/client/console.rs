//! `videojobs console`: prints a link that opens the browser console signed
//! in, `http://HOST:PORT/#token=…`. The token is short-lived (15 minutes by
//! default) and sits in the URL's fragment, which browsers never send to the
//! server, so it reaches no request line and no log; the page reads it,
//! keeps it for the tab and removes it from the address bar.
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::DEFAULT_ADDR;
use crate::auth::Authenticator;
use crate::config::{DEFAULT_DATA_DIR, Secret};

/// How long a console link signs a person in, by default.
pub const DEFAULT_LINK_TTL_SECS: u64 = 15 * 60;

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// The server, as the browser reaches it: `http://HOST:PORT`.
    #[arg(long, env = "VIDEOJOBS_ADDR", default_value = DEFAULT_ADDR)]
    pub addr: String,
    /// Whose console; default `$USER`.
    #[arg(long)]
    pub user: Option<String>,
    /// Sign in with the `admin` role: every user's jobs, the queue, failures.
    #[arg(long)]
    pub admin: bool,
    /// How long the link's token is valid, in seconds.
    #[arg(long, default_value_t = DEFAULT_LINK_TTL_SECS)]
    pub ttl_secs: u64,
    /// The server's data directory, where its JWT secret is kept.
    #[arg(long, env = "VIDEOJOBS_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    #[arg(long, env = "VIDEOJOBS_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
}

/// The sign-in link for `args`.
pub fn link(args: &ConsoleArgs) -> anyhow::Result<String> {
    let secret = Authenticator::secret_from(args.jwt_secret.as_ref(), &args.data_dir)?;
    let auth = Authenticator::new(&secret);
    let user = args.user.clone().unwrap_or_else(super::connect::local_user);
    let ttl = Duration::from_secs(args.ttl_secs.max(1));
    let token = if args.admin { auth.issue_admin(&user, ttl)? } else { auth.issue(&user, ttl)? };
    Ok(link_for(&args.addr, &token))
}

/// `addr` (a bare `HOST:PORT` means http) with the token in the fragment.
pub fn link_for(addr: &str, token: &str) -> String {
    let addr = addr.trim().trim_end_matches('/');
    let base = if addr.contains("://") { addr.to_string() } else { format!("http://{addr}") };
    format!("{base}/#token={token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_in_the_fragment_of_the_servers_root() {
        assert_eq!(link_for("http://127.0.0.1:50051/", "a.b.c"), "http://127.0.0.1:50051/#token=a.b.c");
        assert_eq!(link_for("localhost:8080", "t"), "http://localhost:8080/#token=t");
    }

    #[test]
    fn a_link_carries_a_token_the_server_accepts() {
        let dir = tempfile::tempdir().unwrap();
        let args = ConsoleArgs {
            addr: DEFAULT_ADDR.into(),
            user: Some("ada".into()),
            admin: true,
            ttl_secs: 60,
            data_dir: dir.path().into(),
            jwt_secret: None,
        };
        let link = link(&args).unwrap();
        let token = link.split_once("#token=").unwrap().1;
        let secret = Authenticator::secret_from(None, dir.path()).unwrap();
        let caller = Authenticator::new(&secret).verify(token).unwrap();
        assert_eq!((caller.user_id.to_string(), caller.admin), ("ada".to_string(), true));
    }
}
