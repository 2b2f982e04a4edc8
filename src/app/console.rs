//! The console's page and assets, served on the gRPC port beside gRPC and
//! gRPC-web: a `GET` or `HEAD` that is not a gRPC call is answered from the
//! bundle embedded in the binary (`web/console/dist`, built by Vite and
//! committed, so `cargo build` needs no Node). Everything else goes on to
//! the gRPC services untouched. The page then calls the public API with
//! gRPC-web and the person's own token, like any other client.
//!
//! Assets are embedded with `rust-embed` (with `debug-embed`, so debug and
//! release builds both carry the files and cargo rebuilds when one changes;
//! `mime-guess` names the content type). Vite names every asset under
//! `assets/` after a hash of its content, so those are cached for a year as
//! immutable; `index.html` and anything unhashed are revalidated with their
//! ETag on every load, so a new build shows at once.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;

#[derive(rust_embed::Embed)]
#[folder = "web/console/dist/"]
struct Bundle;

/// Served for `/` (and any path that is not a file: the page routes itself
/// in the URL fragment, so other paths are mistakes, answered 404).
const INDEX: &str = "index.html";
const HASHED: &str = "assets/";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";
/// The page runs only its own bundled script and styles and calls only its
/// own origin; it may not be framed.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Puts the console in front of the gRPC services.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConsoleLayer;

impl<S> tower::Layer<S> for ConsoleLayer {
    type Service = Console<S>;
    fn layer(&self, inner: S) -> Console<S> {
        Console { inner }
    }
}

#[derive(Clone, Debug)]
pub struct Console<S> {
    inner: S,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B> tower::Service<Request<B>> for Console<S>
where
    S: tower::Service<Request<B>, Response = Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if is_page_request(&request) {
            let response = answer(&request);
            return Box::pin(async move { Ok(response) });
        }
        Box::pin(self.inner.call(request))
    }
}

/// A browser asking for a page or an asset: `GET`/`HEAD`, not gRPC. gRPC and
/// gRPC-web calls are always `POST` (and CORS preflights `OPTIONS`).
fn is_page_request<B>(request: &Request<B>) -> bool {
    let method = request.method();
    (method == Method::GET || method == Method::HEAD)
        && !request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/grpc"))
}

fn answer<B>(request: &Request<B>) -> Response<tonic::body::Body> {
    let path = request.uri().path().trim_start_matches('/');
    let path = if path.is_empty() { INDEX } else { path };
    let Some(file) = Bundle::get(path) else {
        return plain(StatusCode::NOT_FOUND, "not found");
    };
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let cache = if path.starts_with(HASHED) { IMMUTABLE } else { REVALIDATE };
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, content_type(file.metadata.mimetype()))
        .header(header::CACHE_CONTROL, cache)
        .header(header::ETAG, &etag)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer");
    if path == INDEX {
        builder = builder.header(header::CONTENT_SECURITY_POLICY, CSP);
    }
    let fresh = request.headers().get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let (status, body) = if fresh {
        (StatusCode::NOT_MODIFIED, Bytes::new())
    } else if request.method() == Method::HEAD {
        (StatusCode::OK, Bytes::new())
    } else {
        (StatusCode::OK, Bytes::from(file.data.into_owned()))
    };
    builder
        .status(status)
        .body(tonic::body::Body::new(Full::new(body)))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "cannot build the response"))
}

/// Text types say their charset, so a browser never guesses.
fn content_type(mime: &str) -> HeaderValue {
    let typed = if mime.starts_with("text/") || mime == "application/javascript" || mime == "image/svg+xml" {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    };
    HeaderValue::from_str(&typed).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

fn plain(status: StatusCode, text: &'static str) -> Response<tonic::body::Body> {
    let mut response = Response::new(tonic::body::Body::new(Full::new(Bytes::from_static(text.as_bytes()))));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Request<()> {
        Request::builder().uri(path).body(()).unwrap()
    }

    #[test]
    fn the_page_is_served_with_its_type_and_grpc_is_left_alone() {
        let response = answer(&get("/"));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(response.headers()[header::CACHE_CONTROL], REVALIDATE);
        assert!(response.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        assert_eq!(answer(&get("/nope.js")).status(), StatusCode::NOT_FOUND);
        let grpc_web = Request::builder()
            .method(Method::POST)
            .uri("/videojobs.v1.JobService/ListJobs")
            .header(header::CONTENT_TYPE, "application/grpc-web+proto")
            .body(())
            .unwrap();
        assert!(!is_page_request(&grpc_web));
        assert!(is_page_request(&get("/")));
    }

    #[test]
    fn hashed_assets_are_immutable_and_an_etag_match_is_not_modified() {
        let hashed = Bundle::iter().find(|p| p.starts_with(HASHED));
        if let Some(path) = hashed {
            let response = answer(&get(&format!("/{path}")));
            assert_eq!(response.headers()[header::CACHE_CONTROL], IMMUTABLE);
        }
        let etag = answer(&get("/")).headers()[header::ETAG].clone();
        let again = Request::builder().uri("/").header(header::IF_NONE_MATCH, etag).body(()).unwrap();
        assert_eq!(answer(&again).status(), StatusCode::NOT_MODIFIED);
    }
}
