//! `--prometheus ADDR:PORT`: an OpenMetrics scrape endpoint served while tracing.
//!
//! A thread accepts connections and hands them to the tracing loop, which owns the session: each scrape gets
//! freshly read and merged maps (at most one poll interval, 100 ms, of delay). Only `GET` is answered; every path
//! serves the metrics, as node exporters commonly do for `/metrics`. The lost-data counters follow the maps.

use super::RunError;
use crate::codegen::Stat;
use jitterlib::agg::{render_openmetrics, Snapshot, Symbolizer, OPENMETRICS_CONTENT_TYPE};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// The metric family of the lost-data counters.
const COUNTERS: &str = "jitterlang_data_loss";

/// The line that ends an OpenMetrics exposition.
const EOF: &str = "# EOF\n";

/// How long a scraper may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// A bound scrape endpoint.
#[derive(Debug)]
pub struct MetricsExporter {
    address: SocketAddr,
    connections: Receiver<TcpStream>,
}

impl MetricsExporter {
    /// Binds `address` and starts accepting scrapes in the background.
    pub fn bind(address: &str) -> std::io::Result<MetricsExporter> {
        let listener = TcpListener::bind(address)?;
        let address = listener.local_addr()?;
        let (sender, connections) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if sender.send(stream).is_err() {
                    break;
                }
            }
        });
        Ok(MetricsExporter { address, connections })
    }

    /// The address actually bound (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Answers every scrape waiting right now with the current maps and lost-data counters.
    pub(super) fn serve_pending(
        &self,
        snapshots: impl Fn() -> Result<Vec<Snapshot>, RunError>,
        counters: impl Fn() -> Result<Vec<(Stat, u64)>, RunError>,
        symbols: &dyn Symbolizer,
    ) -> Result<(), RunError> {
        for stream in self.connections.try_iter() {
            let maps = render_openmetrics(&snapshots()?, symbols);
            let maps = maps.strip_suffix(EOF).unwrap_or(&maps);
            let body = format!("{maps}{}{EOF}", counter_family(&counters()?));
            // A scraper that hangs up or sends garbage only loses its own answer.
            let _ = respond(stream, &body);
        }
        Ok(())
    }
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

fn respond(mut stream: TcpStream, body: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut header = String::new();
    while reader.read_line(&mut header)? > 0 && header != "\r\n" && header != "\n" {
        header.clear();
    }
    let (status, content_type, body) = if request_line.starts_with("GET ") {
        ("200 OK", OPENMETRICS_CONTENT_TYPE, body)
    } else {
        ("405 Method Not Allowed", "text/plain", "only GET is served\n")
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
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
}
