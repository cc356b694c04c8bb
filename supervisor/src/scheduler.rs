//! Admission of trajectories: one bound for the whole supervisor, shared
//! fairly between callers.
//!
//! Every trajectory holds a slot while it runs. Slots come from one FIFO
//! semaphore, and each caller (a batch, or a single Synthesize call) waits for
//! at most one slot at a time: a batch asks for its next slot only once it has
//! started the previous trajectory. The semaphore's queue thus holds at most
//! one waiter per caller, so free slots go round-robin between callers. A
//! batch of 10,000 that arrived first cannot starve a batch of 10 that
//! arrived later; each gets every other free slot.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The supervisor-wide bound on trajectories in flight.
#[derive(Debug, Clone)]
pub struct Scheduler {
    slots: Arc<Semaphore>,
    capacity: usize,
}

/// A running trajectory's slot; freed when dropped.
#[derive(Debug)]
pub struct Slot(#[allow(dead_code)] OwnedSemaphorePermit);

impl Scheduler {
    /// At most `capacity` trajectories in flight across all callers.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS);
        Self { slots: Arc::new(Semaphore::new(capacity)), capacity }
    }

    /// Waits for a free slot, in the order callers asked.
    pub async fn admit(&self) -> Slot {
        Slot(self.slots.clone().acquire_owned().await.expect("the scheduler's semaphore is never closed"))
    }

    /// Slots in all.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Slots taken now.
    pub fn in_flight(&self) -> usize {
        self.capacity - self.slots.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::mpsc;

    use super::*;

    /// Two callers that each ask for their next slot only after they got the
    /// last one: the late, small caller is served between the big one's slots.
    #[tokio::test]
    async fn free_slots_alternate_between_waiting_callers() {
        let scheduler = Scheduler::new(1);
        let first = scheduler.admit().await;
        let (order_tx, mut order) = mpsc::unbounded_channel();
        let caller = |name: &'static str, n: usize| {
            let scheduler = scheduler.clone();
            let order = order_tx.clone();
            tokio::spawn(async move {
                for _ in 0..n {
                    let slot = scheduler.admit().await;
                    order.send(name).unwrap();
                    // The trajectory runs briefly, then frees its slot.
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        drop(slot);
                    });
                }
            })
        };
        let big = caller("big", 6);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let small = caller("small", 3);
        tokio::time::sleep(Duration::from_millis(5)).await;
        drop(first);
        big.await.unwrap();
        small.await.unwrap();
        drop(order_tx);
        let mut seen = Vec::new();
        while let Some(name) = order.recv().await {
            seen.push(name);
        }
        assert_eq!(seen, ["big", "small", "big", "small", "big", "small", "big", "big", "big"]);
        tokio::time::sleep(Duration::from_millis(20)).await; // the last trajectory ends
        assert_eq!(scheduler.in_flight(), 0);
    }

    #[tokio::test]
    async fn capacity_bounds_slots_in_flight() {
        let scheduler = Scheduler::new(3);
        let slots = futures::future::join_all((0..3).map(|_| scheduler.admit())).await;
        assert_eq!(scheduler.in_flight(), 3);
        assert!(tokio::time::timeout(Duration::from_millis(20), scheduler.admit()).await.is_err(), "a fourth slot was granted");
        drop(slots);
        assert_eq!(scheduler.in_flight(), 0);
        assert_eq!(Scheduler::new(0).capacity(), 1);
    }
}
