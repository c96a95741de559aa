//! One entered script, running on its own thread with its own session.

use super::printer::Printer;
use super::Settings;
use crate::failure::{self, Script};
use jitterlang::codegen::Compiled;
use jitterlang::runtime::{self, Control, MapChange, RunOptions};
use jitterlib::agg::Snapshot;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long attaching may take before the prompt gives up waiting (it keeps going in the background).
const ATTACH_WAIT: Duration = Duration::from_secs(20);
/// How long a map read may take.
const READ_WAIT: Duration = Duration::from_secs(5);

/// A script entered at the prompt.
pub struct Entry {
    /// Number shown by `.list`.
    pub id: usize,
    /// The text as entered.
    pub source: String,
    /// The compiled programs.
    pub compiled: Compiled,
    running: Option<Running>,
}

struct Running {
    stop: Arc<AtomicBool>,
    control: Sender<Control>,
    thread: JoinHandle<()>,
}

impl Entry {
    /// A compiled, not yet attached entry.
    pub fn new(id: usize, source: String, compiled: Compiled) -> Entry {
        Entry { id, source, compiled, running: None }
    }

    /// Whether its programs are attached (the thread still runs).
    pub fn is_attached(&self) -> bool {
        self.running.as_ref().is_some_and(|running| !running.thread.is_finished())
    }

    /// Loads and attaches on a new thread; returns once attached, or the error.
    pub fn attach(&mut self, settings: &Settings, printer: &Printer) -> Result<(), String> {
        if self.is_attached() {
            return Err(format!("#{} is already attached", self.id));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (control, requests) = mpsc::channel();
        let (attached_tx, attached) = mpsc::channel::<Result<(), String>>();
        let compiled = self.compiled.clone();
        let source = self.source.clone();
        let thread_stop = Arc::clone(&stop);
        let kernel = Arc::clone(&settings.kernel);
        let verbose = settings.verbose;
        let mut out = printer.writer();
        let on_attached_tx = attached_tx.clone();
        let thread = std::thread::spawn(move || {
            let options = RunOptions {
                on_attached: Some(Box::new(move |_| {
                    let _ = on_attached_tx.send(Ok(()));
                })),
                control: Some(requests),
                ..RunOptions::default()
            };
            if let Err(error) = runtime::run(&compiled, kernel.as_ref(), &options, &mut out, &thread_stop) {
                let script = Script { name: "<prompt>", source: &source };
                let report = failure::rejection_report(&error, &compiled, &script, verbose)
                    .unwrap_or_else(|| failure::explain(&error, &compiled));
                let _ = attached_tx.send(Err(report));
            }
        });
        self.running = Some(Running { stop, control, thread });
        match attached.recv_timeout(ATTACH_WAIT) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => Err("still attaching after 20 s".into()),
            // The thread ended without attaching and without an error: the script ran BEGIN and exited.
            Err(mpsc::RecvTimeoutError::Disconnected) => Ok(()),
        }
    }

    /// Stops tracing: END runs, the final maps print (straight to stdout: the prompt waits), everything is
    /// detached.
    pub fn detach(&mut self, printer: &Printer) {
        if let Some(running) = self.running.take() {
            printer.set_direct(true);
            running.stop.store(true, Ordering::Relaxed);
            if running.thread.join().is_err() {
                eprintln!("jl: #{}'s thread panicked while detaching", self.id);
            }
            printer.set_direct(false);
        }
    }

    /// The current maps, read by the running script's loop.
    pub fn snapshots(&self) -> Result<Vec<Snapshot>, String> {
        let (reply, answer) = mpsc::channel();
        self.send(Control::Snapshots(reply))?;
        answer.recv_timeout(READ_WAIT).map_err(|_| format!("#{} did not answer", self.id))?.map_err(|e| e.to_string())
    }

    /// Empties the maps.
    pub fn clear(&self) -> Result<(), String> {
        self.send(Control::Clear)
    }

    /// Changes one map (`clear(@m)`, `zero(@m)`, `delete(@m, key)` at the prompt); how many entries a
    /// deletion removed.
    pub fn change(&self, map: &str, change: MapChange) -> Result<usize, String> {
        let (reply, answer) = mpsc::channel();
        self.send(Control::Change { map: map.to_string(), change, reply })?;
        answer.recv_timeout(READ_WAIT).map_err(|_| format!("#{} did not answer", self.id))?.map_err(|e| e.to_string())
    }

    /// Sends a request to the running script.
    pub fn send(&self, request: Control) -> Result<(), String> {
        let running =
            self.running.as_ref().filter(|_| self.is_attached()).ok_or(format!("#{} is not attached", self.id))?;
        running.control.send(request).map_err(|_| format!("#{} stopped", self.id))
    }
}
