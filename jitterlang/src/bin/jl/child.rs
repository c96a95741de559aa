//! `-c CMD`: the traced command, started once the probes are attached.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Runs `command` through `/bin/sh -c` and raises `stop` when it exits (or cannot start).
pub fn spawn_then_stop(command: &str, stop: Arc<AtomicBool>) {
    match Command::new("/bin/sh").arg("-c").arg(command).spawn() {
        Ok(mut child) => {
            std::thread::spawn(move || {
                if let Err(error) = child.wait() {
                    eprintln!("jl: cannot wait for `-c` command: {error}");
                }
                stop.store(true, Ordering::Relaxed);
            });
        }
        Err(error) => {
            eprintln!("jl: cannot run `-c` command: {error}");
            stop.store(true, Ordering::Relaxed);
        }
    }
}
