//! Metrics: names in one place, the Prometheus exporter (on its own HTTP
//! port, off by default), and a tower layer that counts gRPC requests by
//! method and status code.
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use metrics_exporter_prometheus::PrometheusBuilder;
use tonic::Code;

pub const JOBS_SUBMITTED: &str = "videojobs_jobs_submitted_total";
/// Labelled `outcome`: completed, failed or cancelled.
pub const JOBS_FINISHED: &str = "videojobs_jobs_finished_total";
pub const JOB_RETRIES: &str = "videojobs_job_retries_total";
/// Waiting jobs a pause held back or a resume let go, labelled `change`:
/// paused or resumed.
pub const JOBS_PAUSED: &str = "videojobs_jobs_paused_total";
/// Seconds an attempt ran, labelled `outcome`: succeeded, failed or stopped.
pub const ATTEMPT_DURATION: &str = "videojobs_attempt_duration_seconds";
pub const RUNNING_PROGRAMS: &str = "videojobs_running_programs";
pub const QUEUE_DEPTH: &str = "videojobs_queue_depth";
pub const WATCH_STREAMS: &str = "videojobs_watch_streams";
/// Labelled `method` and `code`.
pub const GRPC_REQUESTS: &str = "videojobs_grpc_requests_total";

/// Serves `/metrics` on `listen`. The recorder is process-wide: a second
/// server in the same process shares the first one's exporter.
pub fn install_metrics_exporter(listen: Option<SocketAddr>) {
    let Some(listen) = listen else { return };
    let buckets = [0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0];
    let installed = PrometheusBuilder::new()
        .with_http_listener(listen)
        .set_buckets_for_metric(metrics_exporter_prometheus::Matcher::Full(ATTEMPT_DURATION.into()), &buckets)
        .and_then(|builder| builder.install());
    match installed {
        Ok(()) => tracing::info!(%listen, "serving Prometheus metrics"),
        Err(error) => tracing::warn!(%error, "metrics exporter not started"),
    }
}

/// Counts every gRPC request by method and status code.
#[derive(Clone, Copy, Debug, Default)]
pub struct GrpcMetricsLayer;

impl<S> tower::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;
    fn layer(&self, inner: S) -> GrpcMetrics<S> {
        GrpcMetrics { inner }
    }
}

#[derive(Clone, Debug)]
pub struct GrpcMetrics<S> {
    inner: S,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for GrpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().to_string();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            // Errors are sent trailers-only, so their status is in the
            // headers; a success's status comes later, in the trailers.
            let code = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok()?.parse::<i32>().ok())
                .map(Code::from)
                .unwrap_or(Code::Ok);
            // Unknown paths answer UNIMPLEMENTED; one label keeps a caller
            // from minting new time series with made-up paths.
            let method = if code == Code::Unimplemented { "unknown".to_string() } else { method };
            metrics::counter!(GRPC_REQUESTS, "method" => method, "code" => format!("{code:?}")).increment(1);
            Ok(response)
        })
    }
}
