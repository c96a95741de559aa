//! The bounded set of connections being served, and who gives way when it is full.
//!
//! Each newcomer first makes the set forget the connections that have ended (an ended task's memory, a few KiB,
//! goes only with its handle: kept until the set filled up, a scraper that opens a connection per scrape grew jl
//! by 2 KiB a scrape for its first 1 024). A full set then aborts the oldest connection that has not yet sent its
//! whole request: idle and slow-header clients are the cheap ones to open by the thousand, and a normal scrape
//! sends its request at once, so it finds a slot however many of them hold one. When every slot is answering a
//! request (each ends within the per-connection time limit), the newcomer is refused instead.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::task::AbortHandle;

/// Connections being served, oldest first.
pub(super) struct Connections {
    live: VecDeque<Connection>,
    capacity: usize,
}

/// One connection's task, and whether its request has been read.
struct Connection {
    task: AbortHandle,
    requested: Arc<AtomicBool>,
}

impl Connections {
    /// An empty set that holds at most `capacity` connections.
    pub(super) fn new(capacity: usize) -> Connections {
        Connections { live: VecDeque::with_capacity(capacity), capacity }
    }

    /// Forgets the connections that have ended and makes room for one more; false when every slot is answering
    /// a request.
    pub(super) fn make_room(&mut self) -> bool {
        self.live.retain(|connection| !connection.task.is_finished());
        self.live.len() < self.capacity || self.evict_idle()
    }

    /// Aborts the oldest connection still waiting for its request; false when there is none.
    pub(super) fn evict_idle(&mut self) -> bool {
        let idle = self.live.iter().position(|connection| !connection.requested.load(Ordering::Relaxed));
        match idle.and_then(|index| self.live.remove(index)) {
            Some(connection) => {
                connection.task.abort();
                true
            }
            None => false,
        }
    }

    /// Adds a connection, after [`Connections::make_room`] said there is room; `requested` is set once its request
    /// has been read.
    pub(super) fn add(&mut self, task: AbortHandle, requested: Arc<AtomicBool>) {
        self.live.push_back(Connection { task, requested });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task that never ends, with its request flag.
    fn pending(runtime: &tokio::runtime::Runtime, requested: bool) -> (AbortHandle, Arc<AtomicBool>) {
        let task = runtime.spawn(std::future::pending::<()>());
        (task.abort_handle(), Arc::new(AtomicBool::new(requested)))
    }

    #[test]
    fn a_full_set_aborts_its_oldest_idle_connection() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let mut connections = Connections::new(3);
        let answering = pending(&runtime, true);
        let oldest_idle = pending(&runtime, false);
        let younger_idle = pending(&runtime, false);
        for (task, requested) in [&answering, &oldest_idle, &younger_idle] {
            connections.add(task.clone(), Arc::clone(requested));
        }
        assert!(connections.make_room());
        runtime.block_on(tokio::task::yield_now());
        assert!(oldest_idle.0.is_finished(), "the oldest idle connection gave way");
        assert!(!younger_idle.0.is_finished() && !answering.0.is_finished());
    }

    #[test]
    fn a_set_busy_answering_refuses_newcomers_until_one_ends() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let mut connections = Connections::new(2);
        let (first, first_requested) = pending(&runtime, true);
        let (second, second_requested) = pending(&runtime, true);
        connections.add(first.clone(), first_requested);
        connections.add(second, second_requested);
        assert!(!connections.make_room());
        first.abort();
        runtime.block_on(tokio::task::yield_now());
        assert!(connections.make_room(), "an ended connection frees its slot");
    }

    #[test]
    fn ended_connections_are_forgotten_before_the_set_is_full() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let mut connections = Connections::new(8);
        let (ended, ended_requested) = pending(&runtime, true);
        let (live, live_requested) = pending(&runtime, true);
        connections.add(ended.clone(), ended_requested);
        connections.add(live, live_requested);
        ended.abort();
        runtime.block_on(tokio::task::yield_now());
        assert!(connections.make_room());
        assert_eq!(connections.live.len(), 1, "the ended connection's handle (and its task's memory) is dropped");
    }
}
