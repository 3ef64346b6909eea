//! Clocks. Tests and demos need to move time (to reach a payment deadline or a start time)
//! without sleeping, so besides the system clock there is one that is set by hand.

use crate::ports::Clock;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use std::sync::Mutex;

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
