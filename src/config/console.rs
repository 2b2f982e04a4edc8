//! The console's settings: whether the gRPC port also serves the browser
//! console's page and assets (on by default; the console only calls the
//! public API, so turning it off removes a page, not a capability). Flag,
//! environment name and default side by side.
use clap::Args;

#[derive(Clone, Debug)]
pub struct ConsoleConfig {
    /// Serve `GET /` and the console's assets beside gRPC.
    pub enabled: bool,
}

impl Default for ConsoleConfig {
    fn default() -> ConsoleConfig {
        ConsoleConfig { enabled: true }
    }
}

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// Do not serve the browser console (`GET /` on the gRPC port); gRPC and
    /// gRPC-web are served either way.
    #[arg(long, env = "VIDEOJOBS_NO_CONSOLE")]
    pub no_console: bool,
}

impl ConsoleArgs {
    pub fn into_config(self) -> ConsoleConfig {
        ConsoleConfig { enabled: !self.no_console }
    }
}
