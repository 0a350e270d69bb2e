//! The connection loop: HTTP/1.1 over TCP with hyper, so that what a slow
//! or idle client may hold is bounded — request headers must arrive within
//! the header timeout, and a request body must keep arriving (see
//! [`body_deadline`]). `axum::serve` sets no such limits.

use std::future::Future;
use std::pin::pin;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How long in-flight requests may take to finish after shutdown is asked for.
const DRAIN: Duration = Duration::from_secs(30);
/// The rate a request body must keep up after its grace period, bytes/s.
const MIN_BODY_RATE: f64 = 64.0 * 1024.0;

/// Serves `app` on `listener` until `shutdown` resolves; then lets the
/// requests in flight finish (for at most [`DRAIN`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = super::peer::Connection {
            peer,
            local: stream.local_addr().ok(),
        };
        let service = app
            .clone()
            .map_request(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(connection));
                req.map(Body::new)
            });
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running {DRAIN:?} after shutdown; stopping anyway");
    }
    Ok(())
}

/// Ends a request body that does not keep arriving: after `grace`, the body
/// must have come at [`MIN_BODY_RATE`] or faster, so a client trickling a
/// byte at a time holds a request slot for about `grace` at most. The
/// handler then sees a failed read and answers 4xx.
pub async fn body_deadline(grace: Duration, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let start = Instant::now();
    let stream = futures_util::stream::unfold(
        (body.into_data_stream(), 0usize, false),
        move |(mut data, received, done)| async move {
            if done {
                return None;
            }
            #[expect(clippy::cast_precision_loss, reason = "a byte count, as a rate")]
            let allowed = grace + Duration::from_secs_f64(received as f64 / MIN_BODY_RATE);
            let deadline = tokio::time::Instant::from_std(start + allowed);
            match tokio::time::timeout_at(deadline, data.next()).await {
                Ok(Some(Ok(chunk))) => {
                    let n = chunk.len();
                    Some((Ok(chunk), (data, received + n, false)))
                }
                Ok(Some(Err(e))) => Some((Err(std::io::Error::other(e)), (data, received, true))),
                Ok(None) => None,
                Err(_) => {
                    metrics::counter!("trygg_http_slow_bodies_total").increment(1);
                    let e = std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the request body arrived too slowly",
                    );
                    Some((Err(e), (data, received, true)))
                }
            }
        },
    );
    next.run(Request::from_parts(parts, Body::from_stream(stream)))
        .await
}
