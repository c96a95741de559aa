//! `--prometheus ADDR:PORT`: an OpenMetrics scrape endpoint served while tracing.
//!
//! Two sides meet through a bounded channel and never wait for each other. The HTTP side ([`http`]) runs on a
//! thread of its own and never touches the session: each `GET /metrics` queues a [`Scrape`], a one-shot reply
//! slot, and waits a bounded time for its text. The tracing loop, which owns the session, calls
//! [`MetricsExporter::answer_pending`] on each poll iteration (every 100 ms): when scrapes wait, it reads and merges
//! the maps once and hands every waiting scrape the same `Arc<str>`, so a thousand scrapers, or one client
//! hammering GET, cost one rendering per poll interval. Each scrape sees freshly read maps and the lost-data
//! counters with them. Once the tracing loop stops answering ([`MetricsExporter::close`]), scrapes get 503.
//!
//! The text comes from jitterlib's own OpenMetrics encoder (`render_openmetrics`) plus the lost-data counter family
//! below, not from the `prometheus-client` crate: the encoder renders jl's merged per-CPU maps and histograms
//! straight from their snapshots and is tested byte for byte, while prometheus-client wants every metric registered
//! as a live object and updated as events arrive, which is not how jl's data reaches user space.

mod connections;
mod http;

use super::RunError;
use crate::wire::Stat;
use jitterlib::agg::{render_openmetrics, LabelBudget, Snapshot, Symbolizer};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;

/// The metric family of the lost-data counters.
const COUNTERS: &str = "jitterlang_data_loss";

/// The line that ends an OpenMetrics exposition.
const EOF: &str = "# EOF\n";

/// A scrape waiting for its text: the tracing loop sends the rendering there.
type Scrape = oneshot::Sender<Arc<str>>;

/// Why the scrape endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExporterError {
    /// The address could not be bound.
    #[error("cannot listen on {address}")]
    Bind {
        /// The address asked for.
        address: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP server's runtime or thread could not start.
    #[error("cannot start the HTTP server")]
    Start {
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// A bound scrape endpoint. Dropping it stops the server and closes its connections.
#[derive(Debug)]
pub struct MetricsExporter {
    address: SocketAddr,
    /// Scrapes waiting for the tracing loop; `None` once it has stopped answering.
    scrapes: Mutex<Option<Receiver<Scrape>>>,
    /// The culprit labels each map exposes, kept from one scrape to the next.
    labels: Mutex<LabelBudget>,
    /// Dropped with the exporter: stops the server thread.
    _server: http::Server,
}

impl MetricsExporter {
    /// Binds `address` and starts serving scrapes on a thread of its own.
    pub fn bind(address: &str) -> Result<MetricsExporter, ExporterError> {
        let bind = |source| ExporterError::Bind { address: address.to_string(), source };
        let listener = TcpListener::bind(address).map_err(bind)?;
        let bound = listener.local_addr().map_err(bind)?;
        // One queued scrape per connection at most, so the queue never holds more than there are connections.
        let (queue, scrapes) = mpsc::sync_channel(http::MAX_CONNECTIONS);
        let server = http::Server::start(listener, queue)?;
        Ok(MetricsExporter {
            address: bound,
            scrapes: Mutex::new(Some(scrapes)),
            labels: Mutex::default(),
            _server: server,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Answers every scrape waiting right now with one rendering of the current maps and lost-data counters;
    /// reads nothing when none waits. Never waits for a client.
    pub(super) fn answer_pending(
        &self,
        snapshots: impl FnOnce() -> Result<Vec<Snapshot>, RunError>,
        counters: impl FnOnce() -> Result<Vec<(Stat, u64)>, RunError>,
        symbols: &dyn Symbolizer,
    ) -> Result<(), RunError> {
        let scrapes = self.scrapes.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(scrapes) = scrapes.as_ref() else { return Ok(()) };
        let mut labels = self.labels.lock().unwrap_or_else(PoisonError::into_inner);
        answer(scrapes, || Ok(openmetrics(&snapshots()?, &counters()?, symbols, &mut labels)))
    }

    /// Stops answering: scrapes waiting now and from now on get 503 at once.
    pub(super) fn close(&self) {
        self.scrapes.lock().unwrap_or_else(PoisonError::into_inner).take();
    }
}

/// Sends every scrape waiting in `scrapes` the same text, rendered once and only when one waits.
fn answer(scrapes: &Receiver<Scrape>, render: impl FnOnce() -> Result<String, RunError>) -> Result<(), RunError> {
    // A scraper that gave up waiting needs no answer.
    let waiting: Vec<Scrape> = scrapes.try_iter().filter(|scrape| !scrape.is_closed()).collect();
    if waiting.is_empty() {
        return Ok(());
    }
    let text: Arc<str> = render()?.into();
    for scrape in waiting {
        // A scraper that hung up meanwhile only loses its own answer.
        let _ = scrape.send(Arc::clone(&text));
    }
    Ok(())
}

/// The scrape text: the maps, then the lost-data counters, then the `# EOF` line.
fn openmetrics(
    snapshots: &[Snapshot],
    counters: &[(Stat, u64)],
    symbols: &dyn Symbolizer,
    labels: &mut LabelBudget,
) -> String {
    let maps = render_openmetrics(snapshots, symbols, labels);
    let maps = maps.strip_suffix(EOF).unwrap_or(&maps);
    format!("{maps}{}{EOF}", counter_family(counters))
}

/// The lost-data counters as one counter family, `jitterlang_data_loss_total{counter="map_full"}` and so on
/// (prefixed `jitterlang_`, not `jl_`, so that no map name can clash with it).
fn counter_family(counters: &[(Stat, u64)]) -> String {
    let mut out = format!(
        "# TYPE {COUNTERS} counter\n# HELP {COUNTERS} data the BPF side could not record or cut short \
         (events, map updates, kernel stacks, strings)\n"
    );
    for (stat, count) in counters {
        out.push_str(&format!("{COUNTERS}_total{{counter=\"{}\"}} {count}\n", stat.key()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_one_family_with_a_sample_per_counter() {
        let text = counter_family(&[(Stat::MapFull, 0), (Stat::StrTruncated, 3)]);
        assert!(text.starts_with("# TYPE jitterlang_data_loss counter\n# HELP jitterlang_data_loss "), "{text}");
        assert!(text.ends_with(
            "jitterlang_data_loss_total{counter=\"map_full\"} 0\njitterlang_data_loss_total{counter=\"str_truncated\"} 3\n"
        ));
    }

    #[test]
    fn waiting_scrapes_share_one_rendering() {
        let (queue, scrapes) = mpsc::sync_channel(8);
        let mut answers = Vec::new();
        for _ in 0..3 {
            let (reply, answer) = oneshot::channel();
            queue.send(reply).expect("queued");
            answers.push(answer);
        }
        let (gone, _) = oneshot::channel();
        queue.send(gone).expect("queued");
        let mut renders = 0;
        answer(&scrapes, || {
            renders += 1;
            Ok("# EOF\n".to_string())
        })
        .expect("answered");
        assert_eq!(renders, 1);
        let texts: Vec<Arc<str>> = answers.into_iter().map(|answer| answer.blocking_recv().expect("answer")).collect();
        assert!(texts.iter().all(|text| Arc::ptr_eq(text, &texts[0]) && &**text == "# EOF\n"));
    }

    #[test]
    fn nothing_is_rendered_when_no_scrape_waits() {
        let (_queue, scrapes) = mpsc::sync_channel::<Scrape>(8);
        answer(&scrapes, || panic!("rendered for nobody")).expect("nothing to answer");
    }
}
