//! Login throttling: how many failures buy how long a wait.
//!
//! The state is kept per key (an account, a client address); this module only
//! decides, storage keeps it.

use chrono::{DateTime, Duration, Utc};

/// Failures counted within `window`; from `free_failures` on, each further failure
/// locks the key for `base_lock * 2^(n - free_failures)`, at most `max_lock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub free_failures: u32,
    pub window: Duration,
    pub base_lock: Duration,
    pub max_lock: Duration,
}

impl ThrottlePolicy {
    /// Per account: a person mistyping a few times is not slowed down; a guesser is.
    pub fn per_account() -> Self {
        ThrottlePolicy {
            free_failures: 5,
            window: Duration::minutes(15),
            base_lock: Duration::seconds(30),
            max_lock: Duration::minutes(15),
        }
    }

    /// Per client address: a whole clinic may share one address, so allow more.
    pub fn per_address() -> Self {
        ThrottlePolicy {
            free_failures: 20,
            window: Duration::minutes(15),
            base_lock: Duration::seconds(30),
            max_lock: Duration::minutes(15),
        }
    }
}

/// What is remembered about one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleState {
    pub failures: u32,
    pub window_started_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

impl ThrottlePolicy {
    /// Seconds to wait before trying again, if the key is locked at `now`.
    pub fn retry_after(&self, state: Option<&ThrottleState>, now: DateTime<Utc>) -> Option<u64> {
        let until = state?.locked_until?;
        if until <= now {
            return None;
        }
        let ms = (until - now).num_milliseconds();
        Some(((ms + 999) / 1000).max(1) as u64)
    }

    /// The state after one more failure at `now`.
    pub fn after_failure(
        &self,
        state: Option<&ThrottleState>,
        now: DateTime<Utc>,
    ) -> ThrottleState {
        let (failures, started, locked) = match state {
            Some(s) if now - s.window_started_at < self.window => (
                s.failures.saturating_add(1),
                s.window_started_at,
                s.locked_until,
            ),
            _ => (1, now, None),
        };
        let locked_until = if failures >= self.free_failures {
            let exp = (failures - self.free_failures).min(20);
            let lock = self
                .base_lock
                .checked_mul(1i32 << exp.min(30))
                .unwrap_or(self.max_lock)
                .min(self.max_lock);
            Some(now + lock)
        } else {
            locked
        };
        ThrottleState {
            failures,
            window_started_at: started,
            locked_until,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap()
    }

    #[test]
    fn the_first_failures_are_free() {
        let p = ThrottlePolicy::per_account();
        let mut s = None;
        for _ in 0..4 {
            let next = p.after_failure(s.as_ref(), t0());
            assert_eq!(p.retry_after(Some(&next), t0()), None);
            s = Some(next);
        }
        let fifth = p.after_failure(s.as_ref(), t0());
        assert_eq!(p.retry_after(Some(&fifth), t0()), Some(30));
        let sixth = p.after_failure(Some(&fifth), t0());
        assert_eq!(p.retry_after(Some(&sixth), t0()), Some(60));
    }

    #[test]
    fn locks_are_capped_and_expire() {
        let p = ThrottlePolicy::per_account();
        let mut s = None;
        for _ in 0..40 {
            s = Some(p.after_failure(s.as_ref(), t0()));
        }
        assert_eq!(p.retry_after(s.as_ref(), t0()), Some(15 * 60));
        assert_eq!(
            p.retry_after(s.as_ref(), t0() + Duration::minutes(15)),
            None
        );
    }

    #[test]
    fn a_new_window_starts_fresh() {
        let p = ThrottlePolicy::per_account();
        let mut s = None;
        for _ in 0..4 {
            s = Some(p.after_failure(s.as_ref(), t0()));
        }
        let later = p.after_failure(s.as_ref(), t0() + Duration::minutes(16));
        assert_eq!(later.failures, 1);
        assert_eq!(later.locked_until, None);
    }
}
