//! Clocks. Tests and demos need to move time (to reach a payment deadline or a start time)
//! without sleeping, so besides the system clock there is one that is set by hand, and the dev
//! server's: the system clock moved on by `POST /dev/clock`.

use crate::ports::Clock;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

/// A clock that can be moved forward: never the deployed functions' (they use `SystemClock`).
pub trait MovableClock: Clock {
    fn advance(&self, by: Duration);
}

pub struct SystemClock;

impl Clock for SystemClock {
    /// Milliseconds are as fine as a booking's history needs, and keep the JSON readable.
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(3)
    }
}

pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = at;
    }
    pub fn advance(&self, by: Duration) {
        *self.0.lock().expect("clock lock") += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

impl MovableClock for ManualClock {
    fn advance(&self, by: Duration) {
        ManualClock::advance(self, by);
    }
}

/// The system clock plus however far it has been moved.
#[derive(Default)]
pub struct OffsetClock {
    offset_ms: AtomicI64,
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        SystemClock.now() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }
}

impl MovableClock for OffsetClock {
    fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}
