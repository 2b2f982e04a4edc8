//! Authentication: HS256 JWTs whose `sub` is the user id. Every JobService and
//! NoteService call carries `authorization: Bearer <token>`; the interceptor
//! puts the verified [`Caller`] in the request's extensions. A token needs
//! `exp` and is refused after it, and before its `nbf` when it has one (with
//! a minute's leeway for the issuer's clock).
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::{Request, Status};

use crate::config::Secret;
use crate::domain::{Scope, UserId};

const SECRET_FILE: &str = "jwt-secret";
const MAX_USER_ID_LEN: usize = 128;
/// How far ahead of this server's clock a token's `nbf` may be: the
/// issuer's clock may run a little fast.
const NOT_BEFORE_LEEWAY_SECS: u64 = 60;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: u64,
    exp: u64,
    /// Not valid before this time (seconds since the epoch), when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    /// `admin` lets the caller see and manage every user's jobs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    roles: Vec<String>,
}

const ADMIN_ROLE: &str = "admin";

/// The verified caller of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub admin: bool,
}

impl Caller {
    /// What the caller may see and touch.
    pub fn scope(&self) -> Scope {
        if self.admin { Scope::Everyone } else { Scope::Own(self.user_id.clone()) }
    }
}

/// Signs and verifies tokens with one shared secret.
#[derive(Clone)]
pub struct Authenticator {
    encoding: Arc<EncodingKey>,
    decoding: Arc<DecodingKey>,
}

impl Authenticator {
    pub fn new(secret: &Secret) -> Authenticator {
        let bytes = secret.expose().as_bytes();
        Authenticator {
            encoding: Arc::new(EncodingKey::from_secret(bytes)),
            decoding: Arc::new(DecodingKey::from_secret(bytes)),
        }
    }

    /// The configured secret or, when there is none, the one kept in the data
    /// directory (created on first use, readable by the owner only), so that
    /// `serve` and `token` agree. There is no way to run without one.
    pub fn secret_from(configured: Option<&Secret>, data_dir: &Path) -> anyhow::Result<Secret> {
        if let Some(secret) = configured {
            anyhow::ensure!(secret.expose().len() >= 16, "VIDEOJOBS_JWT_SECRET must be at least 16 characters");
            return Ok(secret.clone());
        }
        let path = data_dir.join(SECRET_FILE);
        if let Ok(text) = std::fs::read_to_string(&path) {
            return Ok(Secret::new(text.trim()));
        }
        std::fs::create_dir_all(data_dir)?;
        let secret: String = (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
        file.write_all(secret.as_bytes())?;
        Ok(Secret::new(secret))
    }

    pub fn issue(&self, user_id: &str, ttl: Duration) -> anyhow::Result<String> {
        self.issue_with_roles(user_id, ttl, &[])
    }

    /// A token with the `admin` role: it sees and manages every user's jobs.
    pub fn issue_admin(&self, user_id: &str, ttl: Duration) -> anyhow::Result<String> {
        self.issue_with_roles(user_id, ttl, &[ADMIN_ROLE])
    }

    fn issue_with_roles(&self, user_id: &str, ttl: Duration, roles: &[&str]) -> anyhow::Result<String> {
        anyhow::ensure!(valid_user_id(user_id), "a user id is 1 to {MAX_USER_ID_LEN} printable characters");
        let now = jsonwebtoken::get_current_timestamp();
        let roles = roles.iter().map(|r| r.to_string()).collect();
        let claims = Claims { sub: user_id.to_string(), iat: now, exp: now + ttl.as_secs(), nbf: None, roles };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    pub fn verify(&self, token: &str) -> Result<Caller, Status> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(|error| {
            use jsonwebtoken::errors::ErrorKind;
            match error.kind() {
                ErrorKind::ExpiredSignature => Status::unauthenticated("token expired"),
                ErrorKind::InvalidSignature => Status::unauthenticated("token signature is invalid"),
                _ => Status::unauthenticated("token is malformed"),
            }
        })?;
        let not_before = data.claims.nbf.unwrap_or(0);
        if not_before > jsonwebtoken::get_current_timestamp() + NOT_BEFORE_LEEWAY_SECS {
            return Err(Status::unauthenticated("token is not valid yet (its nbf is in the future)"));
        }
        if !valid_user_id(&data.claims.sub) {
            return Err(Status::unauthenticated("token subject is not a valid user id"));
        }
        let admin = data.claims.roles.iter().any(|r| r == ADMIN_ROLE);
        Ok(Caller { user_id: data.claims.sub, admin })
    }

    /// The tonic interceptor: checks the bearer token, records the caller.
    pub fn intercept(&self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| Status::unauthenticated("missing `authorization: Bearer <token>` metadata"))?;
        let value = header.to_str().map_err(|_| Status::unauthenticated("authorization metadata is not text"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| Status::unauthenticated("authorization must be `Bearer <token>`"))?;
        let caller = self.verify(token.trim())?;
        request.extensions_mut().insert(caller);
        Ok(request)
    }
}

/// A user id: 1 to 128 printable characters.
pub fn valid_user_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_USER_ID_LEN && !id.chars().any(char::is_control)
}

/// The caller the interceptor recorded.
pub fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
    request.extensions().get::<Caller>().cloned().ok_or_else(|| Status::unauthenticated("no verified caller"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_with_their_secret_only_and_expire() {
        let auth = Authenticator::new(&Secret::new("0123456789abcdef-test"));
        let token = auth.issue("alice", Duration::from_secs(60)).unwrap();
        assert_eq!(auth.verify(&token).unwrap(), Caller { user_id: "alice".into(), admin: false });
        let admin = auth.issue_admin("ops", Duration::from_secs(60)).unwrap();
        assert_eq!(auth.verify(&admin).unwrap().scope(), Scope::Everyone);
        let other = Authenticator::new(&Secret::new("another-secret-0123"));
        assert_eq!(other.verify(&token).unwrap_err().code(), tonic::Code::Unauthenticated);
        let now = jsonwebtoken::get_current_timestamp();
        let old = Claims { sub: "alice".into(), iat: now - 100, exp: now - 60, nbf: None, roles: vec![] };
        let expired = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &old, &auth.encoding).unwrap();
        assert_eq!(auth.verify(&expired).unwrap_err().message(), "token expired");
        assert!(auth.issue("", Duration::from_secs(1)).is_err());
    }

    #[test]
    fn a_token_is_refused_before_its_nbf_beyond_the_leeway() {
        let auth = Authenticator::new(&Secret::new("0123456789abcdef-test"));
        let now = jsonwebtoken::get_current_timestamp();
        let token = |nbf| {
            let claims = Claims { sub: "alice".into(), iat: now, exp: now + 7200, nbf: Some(nbf), roles: vec![] };
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &auth.encoding).unwrap()
        };
        let early = auth.verify(&token(now + 3600)).unwrap_err();
        assert_eq!(
            (early.code(), early.message()),
            (tonic::Code::Unauthenticated, "token is not valid yet (its nbf is in the future)")
        );
        assert!(auth.verify(&token(now + NOT_BEFORE_LEEWAY_SECS - 5)).is_ok(), "within the clock-skew leeway");
        assert!(auth.verify(&token(now - 10)).is_ok());
    }

    #[test]
    fn the_generated_secret_is_kept_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = Authenticator::secret_from(None, dir.path()).unwrap();
        let second = Authenticator::secret_from(None, dir.path()).unwrap();
        assert_eq!(first.expose(), second.expose());
        assert_eq!(first.expose().len(), 64);
    }
}
