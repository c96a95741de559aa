//! The HTTP side of the scrape endpoint: hyper's HTTP/1 server on a thread of its own, with a bound on everything a
//! client controls.
//!
//! hyper rather than tiny_http: tiny_http reads request headers without a size limit and spends a thread on each
//! connection, the two things a hostile client exploits; hyper caps the header bytes and their number, times out
//! slow headers, and serves every connection from one current-thread tokio runtime, started only with
//! `--prometheus`.
//!
//! The limits: request line and headers at most [`MAX_HEADER_BYTES`] (hyper's smallest read buffer) and
//! [`MAX_HEADERS`] headers (431 past either), sent within [`HEADER_TIMEOUT`]; the whole connection, answer
//! included, closed after [`CONNECTION_TIMEOUT`] (that also cuts a client reading the answer a byte at a time); one
//! request per connection; a request body is refused unread (413); a client that shuts its side after a whole
//! request is still answered, one that does so mid-request is closed at once; at most [`MAX_CONNECTIONS`]
//! connections, see [`super::connections`] for who gives way. So the memory clients can hold is one read buffer and
//! one task per connection, about 12 KiB each and 12 MiB in all, plus the rendering every scrape shares.

use super::connections::Connections;
use super::{ExporterError, Scrape};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use jitterlib::agg::OPENMETRICS_CONTENT_TYPE;
use std::convert::Infallible;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Connections served at once.
pub(super) const MAX_CONNECTIONS: usize = 1024;

/// Connections the kernel queues until they are accepted (std's 128 drops the SYNs of a burst of a few hundred
/// connections, and a scrape caught in it waits a second for its retransmission).
const BACKLOG: libc::c_int = 1024;

/// Bytes of request line and headers (the smallest buffer hyper accepts).
const MAX_HEADER_BYTES: usize = 8 * 1024;

/// Headers in a request (a Prometheus scrape sends about six).
const MAX_HEADERS: usize = 32;

/// Time for a client to send its request line and headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Time a connection may stay open, answer included.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// Time a scrape waits for the tracing loop's answer before it gets 503.
const ANSWER_DEADLINE: Duration = Duration::from_secs(2);

/// How long accepting pauses after a failure (out of file descriptors), instead of spinning.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// The page at `/`.
const INDEX: &str = "jl: the metrics are at /metrics\n";

/// A response; its body is the text shared by every scrape it answers.
type Answer = Response<Full<Bytes>>;

/// The running server. Dropping it stops the server thread, which closes the listener and every connection.
#[derive(Debug)]
pub(super) struct Server {
    _stop: oneshot::Sender<()>,
}

impl Server {
    /// Serves `listener` on a new thread; each `GET /metrics` is queued on `scrapes` for the tracing loop.
    pub(super) fn start(listener: std::net::TcpListener, scrapes: SyncSender<Scrape>) -> Result<Server, ExporterError> {
        let start = |source| ExporterError::Start { source };
        raise_open_file_limit();
        // SAFETY: listen on a listening socket only changes its backlog.
        if unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) } != 0 {
            return Err(start(std::io::Error::last_os_error()));
        }
        listener.set_nonblocking(true).map_err(start)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build().map_err(start)?;
        let listener = {
            let _context = runtime.enter();
            TcpListener::from_std(listener).map_err(start)?
        };
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("jl-metrics".to_string())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::spawn(accept(listener, scrapes));
                    // Resolves when the server is dropped; dropping the runtime then ends every task.
                    let _ = stopped.await;
                });
            })
            .map_err(start)?;
        Ok(Server { _stop: stop })
    }
}

/// Accepts connections forever, each served by a task of its own within the limits.
async fn accept(listener: TcpListener, scrapes: SyncSender<Scrape>) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES)
        .max_header_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS)
        .keep_alive(false)
        .half_close(true);
    let mut connections = Connections::new(MAX_CONNECTIONS);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors, most likely: free the oldest idle connection's and retry shortly.
                connections.evict_idle();
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        if !connections.make_room() {
            // Every slot is answering a scrape: dropping the stream refuses this one.
            continue;
        }
        let requested = Arc::new(AtomicBool::new(false));
        let service = {
            let (requested, scrapes) = (Arc::clone(&requested), scrapes.clone());
            hyper::service::service_fn(move |request| {
                requested.store(true, Ordering::Relaxed);
                let scrapes = scrapes.clone();
                async move { Ok::<_, Infallible>(respond(&request, &scrapes).await) }
            })
        };
        let connection = http.serve_connection(TokioIo::new(stream), service);
        // Whatever ends the connection (timeout, client error, reset), it only concerns that client.
        let task = tokio::spawn(async move {
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
        });
        connections.add(task.abort_handle(), requested);
    }
}

/// The answer to one request: `/metrics` and `/` to GET and HEAD (hyper leaves out the body of a HEAD answer and
/// keeps its length), 404 elsewhere, 405 to other methods, 413 to a request with a body.
async fn respond(request: &Request<Incoming>, scrapes: &SyncSender<Scrape>) -> Answer {
    let metrics = match request.uri().path() {
        "/metrics" => true,
        "/" => false,
        _ => return text(StatusCode::NOT_FOUND, "jl: no such page; the metrics are at /metrics\n"),
    };
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut answer = text(StatusCode::METHOD_NOT_ALLOWED, "jl: only GET and HEAD are served\n");
        answer.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return answer;
    }
    if !request.body().is_end_stream() {
        // Never read: a Content-Length or a chunked body on a GET is refused whole.
        return text(StatusCode::PAYLOAD_TOO_LARGE, "jl: a request body is not accepted\n");
    }
    if !metrics {
        return text(StatusCode::OK, INDEX);
    }
    let (reply, rendered) = oneshot::channel();
    // A full queue, or a tracing loop that has stopped answering, cannot serve this scrape.
    if scrapes.try_send(reply).is_err() {
        return unavailable();
    }
    match tokio::time::timeout(ANSWER_DEADLINE, rendered).await {
        Ok(Ok(rendered)) => answer(StatusCode::OK, OPENMETRICS_CONTENT_TYPE, Bytes::from_owner(Shared(rendered))),
        _ => unavailable(),
    }
}

/// A rendering shared by every scrape it answers, as the bytes of a response body (sent without a copy).
struct Shared(Arc<str>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// 503: the tracing loop did not answer in time, or has stopped.
fn unavailable() -> Answer {
    text(StatusCode::SERVICE_UNAVAILABLE, "jl: the tracing loop is not answering\n")
}

/// A plain-text answer.
fn text(status: StatusCode, body: &'static str) -> Answer {
    answer(status, "text/plain; charset=utf-8", Bytes::from_static(body.as_bytes()))
}

fn answer(status: StatusCode, content_type: &'static str, body: Bytes) -> Answer {
    let mut answer = Response::new(Full::new(body));
    *answer.status_mut() = status;
    answer.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    answer
}

/// Raises the soft limit on open files to the hard one, so that [`MAX_CONNECTIONS`] fit beside the BPF maps and
/// programs (Go programs do the same at start-up); when that fails, a full descriptor table frees idle connections.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
