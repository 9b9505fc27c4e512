//! The thread status machine: `new` → `open` → `pending` ⇄ `open` → `resolved` →
//! `closed`. `closed` is final.

use thiserror::Error;

use crate::error::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThreadStatus {
    New,
    Open,
    Pending,
    Resolved,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("a thread cannot go from {from} to {to}")]
pub struct IllegalTransition {
    pub from: &'static str,
    pub to: &'static str,
    /// Where it may go instead.
    pub allowed: Vec<&'static str>,
}

impl ThreadStatus {
    pub const ALL: [ThreadStatus; 5] = [
        ThreadStatus::New,
        ThreadStatus::Open,
        ThreadStatus::Pending,
        ThreadStatus::Resolved,
        ThreadStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ThreadStatus::New => "new",
            ThreadStatus::Open => "open",
            ThreadStatus::Pending => "pending",
            ThreadStatus::Resolved => "resolved",
            ThreadStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "status",
                    "must be one of new, open, pending, resolved, closed",
                )
            })
    }

    /// The statuses reachable by an explicit change from this one.
    pub fn allowed(self) -> &'static [ThreadStatus] {
        use ThreadStatus::*;
        match self {
            New => &[Open, Pending, Resolved],
            Open => &[Pending, Resolved],
            Pending => &[Open, Resolved],
            Resolved => &[Open, Closed],
            Closed => &[],
        }
    }

    pub fn transition(self, to: ThreadStatus) -> Result<ThreadStatus, IllegalTransition> {
        if self.allowed().contains(&to) {
            Ok(to)
        } else {
            Err(IllegalTransition {
                from: self.as_str(),
                to: to.as_str(),
                allowed: self.allowed().iter().map(|s| s.as_str()).collect(),
            })
        }
    }

    /// A customer's public reply reopens a thread waiting on them or resolved.
    pub fn after_customer_reply(self) -> ThreadStatus {
        match self {
            ThreadStatus::Pending | ThreadStatus::Resolved => ThreadStatus::Open,
            s => s,
        }
    }

    /// An agent's first public reply takes a new thread into work.
    pub fn after_agent_reply(self) -> ThreadStatus {
        match self {
            ThreadStatus::New => ThreadStatus::Open,
            s => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ThreadStatus::*;
    use super::*;

    #[test]
    fn every_transition() {
        let table = [
            (New, [false, true, true, true, false]),
            (Open, [false, false, true, true, false]),
            (Pending, [false, true, false, true, false]),
            (Resolved, [false, true, false, false, true]),
            (Closed, [false, false, false, false, false]),
        ];
        for (from, row) in table {
            for (to, ok) in ThreadStatus::ALL.into_iter().zip(row) {
                assert_eq!(from.transition(to).is_ok(), ok, "{from:?} -> {to:?}");
            }
        }
        let e = Closed.transition(Open).unwrap_err();
        assert!(e.allowed.is_empty());
        let e = Pending.transition(Closed).unwrap_err();
        assert_eq!(e.allowed, vec!["open", "resolved"]);
    }

    #[test]
    fn replies_move_the_thread() {
        assert_eq!(Pending.after_customer_reply(), Open);
        assert_eq!(Resolved.after_customer_reply(), Open);
        assert_eq!(Closed.after_customer_reply(), Closed);
        assert_eq!(New.after_agent_reply(), Open);
        assert_eq!(Pending.after_agent_reply(), Pending);
    }
}
