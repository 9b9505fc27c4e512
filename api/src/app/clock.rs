//! The application's clock: every "now" the services, the token checks and the
//! background work use comes from here, never from `Utc::now()` directly.
//!
//! In production it is the system clock. Tests (and a staging rehearsal) take an
//! adjustable one and move it: a breach due in three business days is tested by
//! advancing the clock three days, not by rewriting stored due times behind the
//! product's back or by sleeping.

use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};

use chrono::{DateTime, Duration, Utc};

/// Cheap to clone; clones share one setting.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Milliseconds added to the system clock; `None` for the plain system clock.
    shift_ms: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock, which nothing can move.
    pub fn system() -> Self {
        Clock { shift_ms: None }
    }

    /// A clock that runs at the system clock's pace from wherever it is set.
    pub fn adjustable() -> Self {
        Clock {
            shift_ms: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    /// The current instant, in UTC.
    pub fn now(&self) -> DateTime<Utc> {
        let real = Utc::now();
        match &self.shift_ms {
            None => real,
            Some(s) => real + Duration::milliseconds(s.load(Ordering::SeqCst)),
        }
    }

    /// Move an adjustable clock forward (or back, with a negative duration).
    /// Returns false, and changes nothing, on the system clock.
    pub fn advance(&self, by: Duration) -> bool {
        match &self.shift_ms {
            None => false,
            Some(s) => {
                s.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
                true
            }
        }
    }

    /// Make an adjustable clock read `at` now; it keeps running from there.
    /// Returns false, and changes nothing, on the system clock.
    pub fn set(&self, at: DateTime<Utc>) -> bool {
        match &self.shift_ms {
            None => false,
            Some(s) => {
                s.store((at - Utc::now()).num_milliseconds(), Ordering::SeqCst);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_cannot_be_moved() {
        let c = Clock::system();
        assert!(!c.advance(Duration::days(3)));
        assert!(!c.set(Utc::now() + Duration::days(3)));
        assert!((c.now() - Utc::now()).num_seconds().abs() <= 1);
    }

    #[test]
    fn an_adjustable_clock_moves_and_its_clones_follow() {
        let c = Clock::adjustable();
        let other = c.clone();
        assert!(c.advance(Duration::days(3)));
        let ahead = other.now() - Utc::now();
        assert!(ahead >= Duration::days(3) - Duration::seconds(1), "{ahead}");
        assert!(ahead <= Duration::days(3) + Duration::seconds(1), "{ahead}");
        let target = Utc::now() - Duration::days(400);
        assert!(c.set(target));
        assert!((other.now() - target).num_seconds().abs() <= 1);
    }
}
