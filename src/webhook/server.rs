//! HTTPS server: `POST /mutate` for the API server, `GET /healthz` for probes.
//!
//! HTTP-level answers are for bodies no AdmissionReview can answer: the API
//! server counts any of them as a failed call and applies the webhook's
//! `failurePolicy`; it never sends such bodies itself.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::metrics::Outcome;
use super::patch::Settings;
use super::review::{self, BadReview, Verdict};
use super::tls::{ReloadingCert, TlsError};

/// Longest a client may take for the TLS handshake or a request's headers;
/// the API server's own timeout is a few seconds.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests get to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Answers HTTP requests; holds no connection state.
#[derive(Debug, Clone)]
pub struct Handler {
    settings: Settings,
    max_request_bytes: usize,
    cluster: crate::inject::ClusterDefaults,
}

impl Handler {
    /// A handler that mutates Pods with `settings` and refuses bodies over
    /// `max_request_bytes`.
    pub fn new(settings: Settings, max_request_bytes: usize) -> Handler {
        Handler {
            settings,
            max_request_bytes,
            cluster: crate::inject::ClusterDefaults::default(),
        }
    }

    /// The handler with the injector's cluster-wide settings, which the
    /// driver applies to Pods that leave an annotation out.
    pub fn with_cluster(mut self, cluster: crate::inject::ClusterDefaults) -> Handler {
        self.cluster = cluster;
        self
    }

    /// Routes one request.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Full<Bytes>>
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        match (request.uri().path(), request.method()) {
            ("/healthz", &Method::GET | &Method::HEAD) => text(StatusCode::OK, "ok\n"),
            ("/mutate", &Method::POST) => {
                let started = std::time::Instant::now();
                let (response, outcome, denied_key) = self.mutate(request).await;
                super::metrics::global().review(outcome, started.elapsed(), denied_key);
                response
            }
            ("/mutate", _) => {
                let mut response = text(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "/mutate takes POST with an AdmissionReview\n",
                );
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("POST"));
                response
            }
            ("/healthz", _) => {
                let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "/healthz takes GET\n");
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
                response
            }
            _ => text(
                StatusCode::NOT_FOUND,
                "not found: use POST /mutate or GET /healthz\n",
            ),
        }
    }

    /// Answers one review, and says how it ended for the metrics.
    async fn mutate<B>(
        &self,
        request: Request<B>,
    ) -> (Response<Full<Bytes>>, Outcome, Option<&'static str>)
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let limit = self.max_request_bytes;
        let too_large = || {
            tracing::warn!(limit, "AdmissionReview body over the size limit refused");
            text(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("request body is larger than the limit of {limit} bytes\n"),
            )
        };
        // Refuse early when the client says how much is coming.
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return (too_large(), Outcome::Error, None);
        }
        let body = match Limited::new(request.into_body(), limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return (too_large(), Outcome::Error, None);
            }
            Err(e) => {
                let response = text(
                    StatusCode::BAD_REQUEST,
                    &format!("cannot read the request body: {e}\n"),
                );
                return (response, Outcome::Error, None);
            }
        };
        match review::answer_with(&body, &self.settings, &self.cluster) {
            Ok(answer) => {
                match answer.verdict {
                    Verdict::Patched | Verdict::Denied => tracing::info!(
                        uid = %answer.uid, namespace = %answer.namespace, pod = %answer.name,
                        verdict = ?answer.verdict, "admission review"
                    ),
                    Verdict::Unchanged => tracing::debug!(
                        uid = %answer.uid, namespace = %answer.namespace, pod = %answer.name,
                        "admission review: unchanged"
                    ),
                }
                // A Value always serialises.
                let bytes = serde_json::to_vec(&answer.review).unwrap_or_default();
                let mut response = Response::new(Full::new(Bytes::from(bytes)));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                let outcome = match answer.verdict {
                    Verdict::Patched => Outcome::Patched,
                    Verdict::Unchanged => Outcome::Unchanged,
                    Verdict::Denied => Outcome::Denied,
                };
                (response, outcome, answer.denied_key)
            }
            Err(e @ (BadReview::NotJson | BadReview::NoRequestUid)) => {
                tracing::warn!(error = %e, "request to /mutate refused");
                let response = text(StatusCode::BAD_REQUEST, &format!("{e}\n"));
                (response, Outcome::Error, None)
            }
        }
    }
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The webhook's HTTPS server.
#[derive(Debug)]
pub struct Server {
    handler: Arc<Handler>,
    certs: Arc<ReloadingCert>,
    reload_interval: Duration,
}

impl Server {
    /// A server answering with `handler`, serving `certs` and checking the
    /// certificate files for changes every `reload_interval`.
    pub fn new(handler: Handler, certs: Arc<ReloadingCert>, reload_interval: Duration) -> Server {
        Server {
            handler: Arc::new(handler),
            certs,
            reload_interval,
        }
    }

    /// Serves on `listener` until `shutdown` resolves, then lets in-flight
    /// requests finish (for a few seconds at most).
    ///
    /// # Errors
    ///
    /// The TLS configuration cannot be built.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), TlsError> {
        let acceptor = TlsAcceptor::from(self.certs.server_config()?);
        let reloader = tokio::spawn(Arc::clone(&self.certs).watch(self.reload_interval));
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            let (tcp, peer) = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: back off briefly.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let handler = Arc::clone(&self.handler);
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let tls = match tokio::time::timeout(CLIENT_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                };
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let handler = Arc::clone(&handler);
                    async move { Ok::<_, Infallible>(handler.handle(request).await) }
                });
                let mut builder = auto::Builder::new(TokioExecutor::new());
                builder
                    .http1()
                    .timer(TokioTimer::new())
                    .header_read_timeout(CLIENT_TIMEOUT);
                let connection = builder.serve_connection(TokioIo::new(tls), service);
                if let Err(e) = watcher.watch(connection).await {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
            });
        }
        drop(listener);
        if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("some connections were still open at shutdown");
        }
        reloader.abort();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handler(limit: usize) -> Handler {
        Handler::new(
            Settings {
                driver_name: "vault-csi-driver".into(),
                deny_invalid: true,
            },
            limit,
        )
    }

    fn request(method: Method, path: &str, body: &'static [u8]) -> Request<Full<Bytes>> {
        Request::builder()
            .method(method)
            .uri(path)
            .body(Full::new(Bytes::from_static(body)))
            .unwrap()
    }

    #[tokio::test]
    async fn healthz_answers_ok() {
        let r = handler(1024)
            .handle(request(Method::GET, "/healthz", b""))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn get_on_mutate_is_method_not_allowed_with_allow_header() {
        let r = handler(1024)
            .handle(request(Method::GET, "/mutate", b""))
            .await;
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers()[header::ALLOW], "POST");
    }

    #[tokio::test]
    async fn unknown_path_is_not_found() {
        let r = handler(1024)
            .handle(request(Method::POST, "/validate", b"{}"))
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn body_over_the_limit_is_payload_too_large() {
        let r = handler(8)
            .handle(request(Method::POST, "/mutate", b"{\"request\":{}}"))
            .await;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn body_that_is_not_a_review_is_bad_request() {
        let r = handler(1024)
            .handle(request(Method::POST, "/mutate", b"not json"))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
}
