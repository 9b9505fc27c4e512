//! Login throttling: how many failures buy how long a wait.
//!
//! The state is kept per key (an account, a client address); this module only
//! decides, storage keeps it.
//!
//! An attempt is *claimed* before it is checked ([`ThrottlePolicy::claim`]):
//! it counts as a failure from the moment it starts, so attempts made at the
//! same instant cannot all pass a check that none of them has yet counted. An
//! attempt that turns out right is given back ([`ThrottlePolicy::refund`]).

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

    /// The longest window of any policy: a key untouched for longer (and not
    /// locked) counts from zero, so its row may be forgotten.
    pub fn longest_window() -> Duration {
        Self::per_account()
            .window
            .max(Self::per_address().window)
            .max(Self::per_account().max_lock)
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

    /// Claim one attempt at `now`: the state with the attempt already counted
    /// as a failure, or the seconds to wait when the key is locked (then nothing
    /// is counted). Storage applies this under a lock on the key's row, so two
    /// concurrent attempts are counted one after the other.
    pub fn claim(
        &self,
        state: Option<&ThrottleState>,
        now: DateTime<Utc>,
    ) -> Result<ThrottleState, u64> {
        match self.retry_after(state, now) {
            Some(wait) => Err(wait),
            None => Ok(self.after_failure(state, now)),
        }
    }

    /// Give back an attempt claimed as `claimed` that turned out right, from
    /// the key's `current` state. A window that has started again since no
    /// longer holds the attempt; a lock the claim itself set is lifted (the
    /// key was not locked when the claim was made, or it would have been
    /// refused), a lock set by a later failure stays.
    pub fn refund(&self, current: &ThrottleState, claimed: &ThrottleState) -> ThrottleState {
        if current.window_started_at != claimed.window_started_at {
            return *current;
        }
        let set_by_claim =
            claimed.failures >= self.free_failures && current.locked_until == claimed.locked_until;
        ThrottleState {
            failures: current.failures.saturating_sub(1),
            window_started_at: current.window_started_at,
            locked_until: if set_by_claim {
                None
            } else {
                current.locked_until
            },
        }
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
    fn a_claim_counts_before_the_check_and_a_locked_key_is_refused() {
        let p = ThrottlePolicy::per_account();
        let mut s: Option<ThrottleState> = None;
        // Five claims pass (the fifth locks for 30 s); the sixth at the same
        // instant is refused without being counted.
        for n in 1..=5 {
            let next = p.claim(s.as_ref(), t0()).expect("within the budget");
            assert_eq!(next.failures, n);
            s = Some(next);
        }
        assert_eq!(p.claim(s.as_ref(), t0()), Err(30));
        assert_eq!(s.map(|s| s.failures), Some(5));
        // After the lock, one more attempt may be made.
        assert!(p.claim(s.as_ref(), t0() + Duration::seconds(30)).is_ok());
    }

    #[test]
    fn a_refund_gives_back_the_attempt_and_the_lock_it_set() {
        let p = ThrottlePolicy::per_address();
        let mut s = None;
        for _ in 0..19 {
            s = Some(p.after_failure(s.as_ref(), t0()));
        }
        let claimed = p
            .claim(s.as_ref(), t0())
            .expect("the 20th attempt may be made");
        assert!(
            claimed.locked_until.is_some(),
            "the 20th claim locks the key"
        );
        let back = p.refund(&claimed, &claimed);
        assert_eq!(back.failures, 19);
        assert_eq!(back.locked_until, None);
        // A failure after the claim set a later lock: the refund keeps it.
        let later = p.after_failure(Some(&claimed), t0() + Duration::seconds(1));
        let back = p.refund(&later, &claimed);
        assert_eq!(back.failures, 20);
        assert_eq!(back.locked_until, later.locked_until);
        // A window that started again no longer holds the claim.
        let fresh = p.after_failure(Some(&claimed), t0() + Duration::minutes(16));
        assert_eq!(p.refund(&fresh, &claimed), fresh);
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
