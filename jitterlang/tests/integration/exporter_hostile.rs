//! Hostile clients against a real `jl --prometheus 127.0.0.1:0`: each case attacks the scrape endpoint from a
//! thread of its own while this thread makes an exact number of getppid calls and scrapes like Prometheus. In every
//! case jl's memory stays under the DaemonSet's 64 MiB limit, the normal scrapes are answered in time, and the
//! traced count is exact with no data lost. All traffic stays on loopback.

use crate::runtime::{map_data, Tracing};
use jitterlib::testing::can_trace;
use serde_json::Value;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// jl's peak resident memory may not exceed the DaemonSet's memory limit.
const MEMORY_LIMIT_KIB: u64 = 64 * 1024;

/// A normal scrape must be answered within this (one poll interval is 100 ms; the margin is for a busy CI host).
const SCRAPE_LIMIT: Duration = Duration::from_secs(2);

/// The getppid calls each case makes while under attack; each also adds a key to `@at`, which makes the scrape
/// text about 150 KB, more than loopback buffers hold for a client with small segments and receive buffer.
const CALLS: u64 = 4000;

/// A running `jl --prometheus` counting this thread's getppid calls.
struct Target {
    tracing: Tracing,
    address: SocketAddr,
}

impl Target {
    /// Starts jl and waits until it is attached.
    fn start() -> Target {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        let script = format!(
            "tracepoint:syscalls:sys_enter_getppid /tid == {tid}/ {{ @calls = count(); @at[nsecs] = count(); }}"
        );
        let tracing = Tracing::start_with(&["-f", "json", "--prometheus", "127.0.0.1:0"], &script, 120.0);
        let address = tracing
            .preamble
            .iter()
            .find_map(|line| line.strip_prefix("Serving OpenMetrics on http://")?.strip_suffix("/metrics"))
            .and_then(|address| address.parse().ok())
            .unwrap_or_else(|| panic!("no metrics address in {:?}", tracing.preamble));
        Target { tracing, address }
    }

    /// A started jl that has counted [`CALLS`] getppid calls; None when `case` cannot trace.
    fn counted(case: &str) -> Option<Target> {
        if !can_trace(case) {
            return None;
        }
        let target = Target::start();
        getppid_calls(CALLS);
        Some(target)
    }

    /// jl's resident memory now and at its peak, in KiB (`VmRSS`, `VmHWM`).
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.tracing.pid())).expect("jl's status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches(" kB").parse().ok())
                .unwrap_or_else(|| panic!("no {name} in {status}"))
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Stops jl (SIGTERM) and checks its final output: exactly `calls` counted, no data lost.
    fn finish(self, calls: u64) {
        // SAFETY: kill only sends a signal to our own child.
        unsafe { libc::kill(self.tracing.pid() as i32, libc::SIGTERM) };
        let lines = self.tracing.finish();
        assert_eq!(map_data(&lines, "@calls"), &Value::from(calls), "{lines:#?}");
        // jl prints a lost-data report only when a counter is non-zero.
        assert!(lines.iter().all(|line| line["type"] != "lost"), "data lost: {lines:#?}");
    }
}

/// `calls` getppid calls from this thread.
fn getppid_calls(calls: u64) {
    for _ in 0..calls {
        // SAFETY: getppid has no preconditions; the raw syscall avoids any libc caching.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
}

/// A whole HTTP exchange: sends `request`, reads until the server closes (at most 5 s each way).
fn exchange(address: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(request)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(answer)
}

/// A normal scrape; returns how long it took and the value of `jl_calls_total`.
fn scrape(address: SocketAddr) -> (Duration, Option<u64>) {
    let started = Instant::now();
    let answer =
        exchange(address, b"GET /metrics HTTP/1.1\r\nHost: jl\r\nAccept: application/openmetrics-text\r\n\r\n")
            .expect("a normal scrape is answered");
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n") && text.ends_with("# EOF\n"), "scrape answered {text}");
    assert!(
        text.lines().filter(|line| line.starts_with("jitterlang_data_loss_total")).all(|line| line.ends_with(" 0")),
        "data lost: {text}"
    );
    let calls = text.lines().find_map(|line| line.strip_prefix("jl_calls_total ")?.parse().ok());
    (took, calls)
}

/// Runs `attack` (given jl's address and when to stop) on a thread for `seconds` against a fresh jl, while this
/// thread makes [`CALLS`] getppid calls and scrapes every 200 ms; then checks memory, scrape latency, the exact count
/// and that nothing was lost. Returns what the attack reports (None when the test cannot trace).
fn under_attack<A, R>(case: &str, seconds: f64, attack: A) -> Option<R>
where
    A: FnOnce(SocketAddr, Instant) -> R + Send + 'static,
    R: Send + 'static,
{
    if !can_trace(case) {
        return None;
    }
    let target = Target::start();
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let attacker = std::thread::spawn({
        let address = target.address;
        move || attack(address, until)
    });
    let (mut calls, mut slowest, mut scrapes) = (0, Duration::ZERO, 0);
    while Instant::now() < until {
        let batch = (CALLS / 10).min(CALLS - calls);
        getppid_calls(batch);
        calls += batch;
        let (took, _) = scrape(target.address);
        slowest = slowest.max(took);
        scrapes += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    getppid_calls(CALLS - calls);
    let (rss, peak) = target.memory();
    let reported = attacker.join().expect("the attack ran");
    // The tracing loop answers within a poll interval or two; the count is then complete.
    let deadline = Instant::now() + SCRAPE_LIMIT;
    let seen = loop {
        let (_, seen) = scrape(target.address);
        if seen == Some(CALLS) || Instant::now() > deadline {
            break seen;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    eprintln!(
        "{case}: jl VmRSS {rss} KiB, VmHWM {peak} KiB; slowest of {scrapes} scrapes {slowest:?}; scraped {seen:?}"
    );
    assert_eq!(seen, Some(CALLS), "{case}: the scraped count");
    assert!(peak < MEMORY_LIMIT_KIB, "{case}: jl's memory peaked at {peak} KiB");
    assert!(slowest < SCRAPE_LIMIT, "{case}: a normal scrape took {slowest:?}");
    target.finish(CALLS);
    Some(reported)
}

/// True when jl refused a request: any answer but 200 OK, or the connection closed or reset.
fn refused(answer: std::io::Result<Vec<u8>>) -> bool {
    answer.map_or(true, |answer| !answer.starts_with(b"HTTP/1.1 200"))
}

/// Whether the server has closed `stream` (read gives end of file, an answer, or a reset), without waiting.
fn closed_by_server(mut stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).expect("non-blocking");
    let mut byte = [0u8; 1];
    !matches!(stream.read(&mut byte), Err(error) if error.kind() == ErrorKind::WouldBlock)
}

/// Sends each of `requests` on a connection of its own, again and again until `until` (pausing 10 ms between
/// rounds); returns how many jl refused and how many were sent.
fn repeat_until(address: SocketAddr, until: Instant, requests: &[Vec<u8>]) -> (usize, usize) {
    let (mut refusals, mut sent) = (0, 0);
    while Instant::now() < until {
        for request in requests {
            sent += 1;
            refusals += usize::from(refused(exchange(address, request)));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    (refusals, sent)
}

#[test]
fn an_endless_header_line_is_cut() {
    let attack = |address, until: Instant| {
        let (mut connections, mut cut, mut bytes) = (0, 0, 0u64);
        while Instant::now() < until {
            let Ok(mut stream) = TcpStream::connect(address) else { continue };
            connections += 1;
            stream.set_write_timeout(Some(Duration::from_millis(500))).expect("write timeout");
            let mut chunk = b"GET /metrics HTTP/1.1\r\nHost: jl\r\nX-A: ".to_vec();
            // Bytes keep coming, so no read timeout could fire: only a size limit ends this line.
            while Instant::now() < until {
                match stream.write(&chunk) {
                    Ok(written) => bytes += written as u64,
                    Err(error) => {
                        cut += usize::from(!matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut));
                        break;
                    }
                }
                chunk = vec![b'a'; 4096];
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        (connections, cut, bytes)
    };
    if let Some((connections, cut, bytes)) = under_attack("an_endless_header_line_is_cut", 4.0, attack) {
        eprintln!("  {connections} connections sent {bytes} bytes of header line; jl cut {cut}");
        assert!(cut >= 2, "jl cut {cut} of {connections} endless header lines");
    }
}

#[test]
fn huge_and_numerous_headers_are_refused() {
    let numerous = (0..200).fold(b"GET /metrics HTTP/1.1\r\nHost: jl\r\n".to_vec(), |mut request, n| {
        request.extend_from_slice(format!("X-Header-{n}: {n}\r\n").as_bytes());
        request
    });
    let huge = [b"GET /metrics HTTP/1.1\r\nHost: jl\r\nX-Huge: ".as_slice(), &[b'h'; 256 * 1024], b"\r\n\r\n"].concat();
    let requests = [[numerous.as_slice(), b"\r\n"].concat(), huge];
    let attack = move |address, until| repeat_until(address, until, &requests);
    if let Some((refusals, sent)) = under_attack("huge_and_numerous_headers_are_refused", 3.0, attack) {
        eprintln!("  {sent} requests with 200 headers or a 256 KiB header, {refusals} refused");
        assert_eq!(refusals, sent, "every oversized request is refused");
    }
}

#[test]
fn a_body_on_get_is_refused_unread() {
    let attack = |address, until: Instant| {
        let (mut answered_413, mut sent) = (0, 0);
        let heads = ["Content-Length: 1000000000", "Transfer-Encoding: chunked"];
        while Instant::now() < until {
            for head in heads {
                sent += 1;
                let request = format!("GET /metrics HTTP/1.1\r\nHost: jl\r\n{head}\r\n\r\n");
                let answer = exchange(address, request.as_bytes()).unwrap_or_default();
                answered_413 += usize::from(answer.starts_with(b"HTTP/1.1 413"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        (answered_413, sent)
    };
    if let Some((answered_413, sent)) = under_attack("a_body_on_get_is_refused_unread", 3.0, attack) {
        eprintln!("  {sent} GETs announcing a body, {answered_413} answered 413 before any body byte was sent");
        assert_eq!(answered_413, sent);
    }
}

#[test]
fn garbage_bytes_are_refused() {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut garbage = || {
        (0..4096)
            .map(|_| {
                // xorshift64: the same bytes on every run.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect::<Vec<u8>>()
    };
    let requests = vec![garbage(), [b"GET /metrics HTTP/1.1\r\n".as_slice(), &garbage(), b"\r\n\r\n"].concat()];
    let attack = move |address, until| repeat_until(address, until, &requests);
    if let Some((refusals, sent)) = under_attack("garbage_bytes_are_refused", 3.0, attack) {
        eprintln!("  {sent} garbage requests, {refusals} refused");
        assert_eq!(refusals, sent);
    }
}

#[test]
fn fifty_clients_sending_only_a_request_line_delay_nothing() {
    let attack = |address, until: Instant| {
        let idle: Vec<TcpStream> = (0..50)
            .map(|_| {
                let mut stream = TcpStream::connect(address).expect("connect");
                stream.write_all(b"GET /metrics HTTP/1.1\r\n").expect("request line");
                stream
            })
            .collect();
        std::thread::sleep(until.saturating_duration_since(Instant::now()));
        // The header timeout (5 s) has passed: jl closed them all.
        idle.iter().filter(|stream| closed_by_server(stream)).count()
    };
    if let Some(closed) = under_attack("fifty_clients_sending_only_a_request_line_delay_nothing", 6.5, attack) {
        eprintln!("  jl closed {closed} of 50 after the header timeout");
        assert_eq!(closed, 50);
    }
}

#[test]
fn a_thousand_idle_connections_do_not_keep_a_scrape_out() {
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
    let attack = |address, until: Instant| {
        // More than jl serves at once (1024): the oldest idle ones give way to newcomers.
        let idle: Vec<TcpStream> = (0..1200).map_while(|_| TcpStream::connect(address).ok()).collect();
        let opened = idle.len();
        std::thread::sleep(until.saturating_duration_since(Instant::now()));
        (opened, idle.iter().filter(|stream| closed_by_server(stream)).count())
    };
    let case = "a_thousand_idle_connections_do_not_keep_a_scrape_out";
    if let Some((opened, closed)) = under_attack(case, 3.0, attack) {
        eprintln!("  {opened} idle connections, {closed} closed by jl to make room");
        assert_eq!(opened, 1200, "the test could not open its connections");
        assert!(closed >= opened - 1024, "only {closed} of {opened} idle connections gave way");
    }
}

#[test]
fn half_closed_sockets_are_closed_at_once() {
    let attack = |address, until: Instant| {
        let (mut slowest, mut connections) = (Duration::ZERO, 0);
        while Instant::now() < until {
            let mut stream = TcpStream::connect(address).expect("connect");
            stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: jl\r\n").expect("partial request");
            stream.shutdown(Shutdown::Write).expect("half-close");
            let started = Instant::now();
            stream.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
            slowest = slowest.max(started.elapsed());
            connections += 1;
            std::thread::sleep(Duration::from_millis(10));
        }
        (connections, slowest)
    };
    if let Some((connections, slowest)) = under_attack("half_closed_sockets_are_closed_at_once", 3.0, attack) {
        eprintln!("  {connections} half-closed partial requests, slowest closed after {slowest:?}");
        assert!(slowest < Duration::from_secs(1), "a half-closed partial request was held {slowest:?}");
    }
}

#[test]
fn a_complete_request_then_half_close_is_answered() {
    let Some(target) = Target::counted("a_complete_request_then_half_close_is_answered") else { return };
    let mut stream = TcpStream::connect(target.address).expect("connect");
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: jl\r\n\r\n").expect("request");
    stream.shutdown(Shutdown::Write).expect("half-close");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with("# EOF\n"), "{answer}");
    target.finish(CALLS);
}

/// A TCP connection with a receive buffer and segments as small as the kernel allows: jl's socket then buffers
/// little of the answer (about 30 KB; with loopback's 64 KiB segments it would take it all), and jl's write waits.
fn small_window_connection(address: SocketAddr) -> TcpStream {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(v4) = address else { panic!("loopback is IPv4 here") };
    // SAFETY: a new socket owned by the TcpStream below; the structs passed live through each call.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket");
        let size: libc::c_int = 1024;
        let size_ptr = (&size as *const libc::c_int).cast();
        libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, size_ptr, 4);
        let segment: libc::c_int = 536;
        libc::setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_MAXSEG, (&segment as *const libc::c_int).cast(), 4);
        let peer = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr { s_addr: u32::from(*v4.ip()).to_be() },
            sin_zero: [0; 8],
        };
        let length = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(libc::connect(fd, (&peer as *const libc::sockaddr_in).cast(), length), 0, "connect");
        TcpStream::from_raw_fd(fd)
    }
}

#[test]
fn a_client_reading_one_byte_a_second_is_cut_off() {
    let attack = |address, until: Instant| {
        // Once every call is counted, so that the answer is at its largest.
        std::thread::sleep(Duration::from_secs(3));
        let mut readers: Vec<TcpStream> = (0..8)
            .map(|_| {
                let mut stream = small_window_connection(address);
                stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: jl\r\n\r\n").expect("request");
                stream
            })
            .collect();
        let mut answers = vec![Vec::new(); readers.len()];
        let mut byte = [0u8; 1];
        while Instant::now() < until {
            for (stream, answer) in readers.iter_mut().zip(&mut answers) {
                if let Ok(1) = stream.read(&mut byte) {
                    answer.push(byte[0]);
                }
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        // Now read whatever jl had sent before it closed the connection.
        for (stream, answer) in readers.iter_mut().zip(&mut answers) {
            stream.set_read_timeout(Some(Duration::from_secs(2))).expect("read timeout");
            let _ = stream.read_to_end(answer);
        }
        answers.iter().map(|answer| body_shortfall(answer)).collect::<Vec<_>>()
    };
    if let Some(shortfalls) = under_attack("a_client_reading_one_byte_a_second_is_cut_off", 15.0, attack) {
        eprintln!("  8 slow readers were cut off with this many answer bytes unsent: {shortfalls:?}");
        assert!(shortfalls.iter().all(|missing| *missing > 0), "a slow reader got its whole answer: {shortfalls:?}");
    }
}

/// How many bytes of the body announced by `answer`'s `content-length` are missing from it.
fn body_shortfall(answer: &[u8]) -> usize {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no answer head in {text:?}"));
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: ")?.parse().ok())
        .unwrap_or_else(|| panic!("no content-length in {head}"));
    length.saturating_sub(body.len())
}

#[test]
fn clients_hammering_get_cost_one_rendering_per_poll() {
    let attack = |address, until: Instant| {
        let hammers: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    let mut answered = 0;
                    while Instant::now() < until {
                        let answer = exchange(address, b"GET /metrics HTTP/1.1\r\nHost: jl\r\n\r\n");
                        answered += usize::from(!refused(answer));
                    }
                    answered
                })
            })
            .collect();
        hammers.into_iter().map(|hammer| hammer.join().expect("hammer")).sum::<usize>()
    };
    if let Some(answered) = under_attack("clients_hammering_get_cost_one_rendering_per_poll", 3.0, attack) {
        eprintln!("  4 clients hammering GET got {answered} answers in 3 s");
        assert!(answered > 0);
    }
}

#[test]
fn pages_methods_and_head() {
    let Some(target) = Target::counted("pages_methods_and_head") else { return };
    let ask = |request: &str| {
        let answer = exchange(target.address, request.as_bytes()).expect("answered");
        let answer = String::from_utf8(answer).expect("text");
        let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
        (head.to_string(), body.to_string())
    };
    let (head, body) = ask("GET /metrics HTTP/1.1\r\nHost: jl\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.contains("content-type: application/openmetrics-text; version=1.0.0; charset=utf-8"), "{head}");
    let (head_only, nothing) = ask("HEAD /metrics HTTP/1.1\r\nHost: jl\r\n\r\n");
    assert!(head_only.starts_with("HTTP/1.1 200 OK"), "{head_only}");
    assert!(head_only.contains(&format!("content-length: {}", body.len())), "{head_only} for a body of {}", body.len());
    assert_eq!(nothing, "");
    let (head, body) = ask("GET / HTTP/1.1\r\nHost: jl\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200 OK") && body.contains("/metrics"), "{head}\n{body}");
    let (head, _) = ask("GET /secrets HTTP/1.1\r\nHost: jl\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let (head, _) = ask(&format!("{method} /metrics HTTP/1.1\r\nHost: jl\r\nContent-Length: 0\r\n\r\n"));
        assert!(head.starts_with("HTTP/1.1 405") && head.contains("allow: GET, HEAD"), "{method}: {head}");
    }
    target.finish(CALLS);
}
