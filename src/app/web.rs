//! What the gRPC port offers beyond plain gRPC: gRPC-web for browsers (HTTP/1.1
//! and HTTP/2, on the same port), CORS for the configured origins only, and
//! TLS with optional client certificates.
use std::time::Duration;

use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::TlsConfig;

/// Headers a gRPC-web client sends and reads.
const REQUEST_HEADERS: [&str; 6] =
    ["authorization", "content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "accept"];
const RESPONSE_HEADERS: [&str; 3] = ["grpc-status", "grpc-message", "grpc-status-details-bin"];

/// CORS for `origins`; `None` (no cross-origin calls at all) when empty.
pub fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allowed: Vec<http::HeaderValue> = origins.iter().filter_map(|o| o.trim().parse().ok()).collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([http::Method::POST, http::Method::OPTIONS])
            .allow_headers(REQUEST_HEADERS.map(http::HeaderName::from_static))
            .expose_headers(RESPONSE_HEADERS.map(http::HeaderName::from_static))
            .max_age(Duration::from_secs(24 * 60 * 60)),
    )
}

pub fn tls_config(tls: &TlsConfig) -> ServerTlsConfig {
    let mut config = ServerTlsConfig::new().identity(Identity::from_pem(&tls.cert_pem, tls.key_pem.expose()));
    if let Some(ca) = &tls.client_ca_pem {
        config = config.client_ca_root(Certificate::from_pem(ca));
    }
    config
}
