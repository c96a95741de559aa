//! Fleet export: a real Prometheus server (Debian's package) scrapes `jl --prometheus` on loopback, and the
//! value it stored is the count the kernel reported.

use crate::support::spawn_attached;
use jitterlib::testing::{can_trace, skip};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills a child process when dropped, so a failing assertion leaves no server behind.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_once("\r\n\r\n").map(|(_, body)| body.to_string())
}

#[test]
fn prometheus_scrapes_the_kernel_counts() {
    if !can_trace("prometheus_scrapes_the_kernel_counts") {
        return;
    }
    let Ok(prometheus_path) = which("prometheus") else {
        skip("prometheus_scrapes_the_kernel_counts", "no prometheus binary (tools/setup-host installs it)");
        return;
    };
    let pid = std::process::id();
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let mut command = Command::new(env!("CARGO_BIN_EXE_jl"));
    command
        .args(["--prometheus", "127.0.0.1:0", "--duration", "30", "-e"])
        // This thread only: other tests of this process call getpid too (std::process::id()).
        .arg(format!(
            "tracepoint:syscalls:sys_enter_getpid /tid == {tid}/ {{ @calls = count(); @by_cpu[cpu] = count(); }}"
        ));
    let (jl, said, lines) = spawn_attached(&mut command);
    let jl = Guard(jl);
    std::thread::spawn(move || for _ in lines {});
    let jl_address = said
        .lines()
        .find_map(|line| line.strip_prefix("Serving OpenMetrics on http://")?.strip_suffix("/metrics"))
        .expect("jl printed its metrics address")
        .to_string();
    for _ in 0..1000 {
        // SAFETY: getpid has no preconditions.
        unsafe { libc::syscall(libc::SYS_getpid) };
    }

    let dir = std::env::temp_dir().join(format!("jl-prometheus-{pid}"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: jl\n    static_configs:\n      - targets: ['{jl_address}']\n"),
    )
    .expect("config");
    let web_port = free_port();
    let server = Command::new(prometheus_path)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{web_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    let _server = Guard(server);

    let deadline = Instant::now() + Duration::from_secs(40);
    let mut last = String::new();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        let Some(body) = http_get(web_port, "/api/v1/query?query=jl_calls_total") else { continue };
        last = body.clone();
        let Ok(answer) = serde_json::from_str::<Value>(&body) else { continue };
        if let Some(value) = answer["data"]["result"][0]["value"][1].as_str() {
            assert_eq!(value, "1000", "Prometheus stored {answer}");
            // The lost-data counters come with the maps (the same scrape, so they are stored too).
            let query = "/api/v1/query?query=jitterlang_data_loss_total%7Bcounter%3D%22map_full%22%7D";
            let counters: Value = serde_json::from_str(&http_get(web_port, query).expect("query")).expect("JSON");
            assert_eq!(counters["data"]["result"][0]["value"][1], "0", "Prometheus stored {counters}");
            // A key that is a builtin names its label.
            let by_cpu: Value =
                serde_json::from_str(&http_get(web_port, "/api/v1/query?query=jl_by_cpu_total").expect("query"))
                    .expect("JSON");
            let series = by_cpu["data"]["result"].as_array().expect("series").clone();
            let total: u64 = series.iter().filter_map(|s| s["value"][1].as_str()?.parse::<u64>().ok()).sum();
            assert!(series.iter().all(|s| s["metric"]["cpu"].is_string()), "a cpu label: {by_cpu}");
            assert_eq!(total, 1000, "Prometheus stored {by_cpu}");
            drop(jl);
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
    }
    panic!("Prometheus never stored jl_calls_total; last answer: {last}");
}

fn which(program: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .ok_or(())
}
