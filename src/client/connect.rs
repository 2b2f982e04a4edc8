//! Reaching the server: the channel (plain HTTP/2, or TLS with the system's
//! roots or a given CA, with an optional client certificate) and the bearer
//! token on every call — the one given, or one minted for `$USER` from the
//! secret a local server keeps in its data directory.
use std::path::Path;
use std::time::Duration;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Request, Status};

use super::args::ClientOptions;
use super::failure::{Failure, Outcome, chain};
use crate::auth::Authenticator;
use crate::config::Secret;
use crate::proto::v1::job_service_client::JobServiceClient;
use crate::proto::v1::note_service_client::NoteServiceClient;

/// How long a minted token is valid: long enough for a long watch.
const MINTED_TOKEN_TTL: Duration = Duration::from_secs(24 * 60 * 60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Where Linux distributions and macOS keep the system's CA bundle.
const SYSTEM_CA_BUNDLES: [&str; 5] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/usr/local/etc/openssl/cert.pem",
];

pub type JobClient = JobServiceClient<InterceptedService<Channel, Bearer>>;
pub type NoteClient = NoteServiceClient<InterceptedService<Channel, Bearer>>;

/// Both services over one connection, authenticated as one user.
pub struct Clients {
    pub jobs: JobClient,
    pub notes: NoteClient,
}

/// Resolves the token, connects, and hands out both clients.
pub async fn connect(options: &ClientOptions) -> Outcome<Clients> {
    let bearer = Bearer::new(&token(options)?)?;
    let channel = channel(options).await?;
    Ok(Clients {
        jobs: JobServiceClient::with_interceptor(channel.clone(), bearer.clone()),
        notes: NoteServiceClient::with_interceptor(channel, bearer),
    })
}

/// The given token, else one minted from the local server's secret.
fn token(options: &ClientOptions) -> Outcome<Secret> {
    if let Some(token) = options.token.as_ref().filter(|t| !t.expose().trim().is_empty()) {
        return Ok(Secret::new(token.expose().trim()));
    }
    if options.jwt_secret.is_none() && !options.data_dir.is_dir() {
        return Err(Failure::usage(format!(
            "no token: pass --token or VIDEOJOBS_TOKEN, or run where the server's data directory {} is \
             (--data-dir / VIDEOJOBS_DATA_DIR), or set VIDEOJOBS_JWT_SECRET",
            options.data_dir.display()
        )));
    }
    let secret = Authenticator::secret_from(options.jwt_secret.as_ref(), &options.data_dir).map_err(|error| {
        if options.jwt_secret.is_some() {
            Failure::usage(format!("{error:#}"))
        } else {
            Failure::other(format!("cannot read the JWT secret in {}: {error:#}", options.data_dir.display()))
        }
    })?;
    let user = local_user();
    let token = Authenticator::new(&secret)
        .issue(&user, MINTED_TOKEN_TTL)
        .map_err(|error| Failure::usage(format!("cannot mint a token for user {user:?}: {error:#}")))?;
    Ok(Secret::new(token))
}

/// `$USER`, else `local`.
pub fn local_user() -> String {
    std::env::var("USER").ok().map(|u| u.trim().to_string()).filter(|u| !u.is_empty()).unwrap_or_else(|| "local".into())
}

/// `http://…` as is, `https://…` with TLS; a bare `HOST:PORT` means http.
async fn channel(options: &ClientOptions) -> Outcome<Channel> {
    let addr = options.addr.trim();
    let addr = if addr.contains("://") { addr.to_string() } else { format!("http://{addr}") };
    let bad_addr = |detail: String| Failure::usage(format!("--addr {addr:?} is not a server address: {detail}"));
    let mut endpoint = Endpoint::from_shared(addr.clone())
        .map_err(|error| bad_addr(chain(&error)))?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    match endpoint.uri().scheme_str() {
        Some("http") => {}
        Some("https") => {
            endpoint = endpoint
                .tls_config(tls_config(options)?)
                .map_err(|error| Failure::usage(format!("TLS settings: {}", chain(&error))))?;
        }
        other => return Err(bad_addr(format!("the scheme must be http or https, not {:?}", other.unwrap_or("")))),
    }
    endpoint
        .connect()
        .await
        .map_err(|error| Failure::other(format!("UNAVAILABLE: cannot connect to {addr}: {}", chain(&error))))
}

fn tls_config(options: &ClientOptions) -> Outcome<ClientTlsConfig> {
    let roots = match &options.ca_cert {
        Some(path) => read_pem(path)?,
        None => system_roots()?,
    };
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(roots));
    if let (Some(cert), Some(key)) = (&options.client_cert, &options.client_key) {
        tls = tls.identity(Identity::from_pem(read_pem(cert)?, read_pem(key)?));
    }
    Ok(tls)
}

/// The system's CA bundle: `$SSL_CERT_FILE`, else the usual places.
fn system_roots() -> Outcome<String> {
    let configured = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
    let candidates = configured.into_iter().chain(SYSTEM_CA_BUNDLES.iter().map(std::path::PathBuf::from));
    for path in candidates {
        if let Ok(text) = std::fs::read_to_string(&path) {
            return Ok(text);
        }
    }
    Err(Failure::other("no system CA bundle found (set SSL_CERT_FILE or pass --ca-cert FILE)"))
}

fn read_pem(path: &Path) -> Outcome<String> {
    std::fs::read_to_string(path).map_err(|error| Failure::usage(format!("cannot read {}: {error}", path.display())))
}

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Bearer {
    pub fn new(token: &Secret) -> Outcome<Bearer> {
        format!("Bearer {}", token.expose())
            .parse()
            .map(Bearer)
            .map_err(|_| Failure::usage("the token holds characters that cannot go in a header"))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}
