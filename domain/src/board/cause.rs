//! Why a clock moved: the cause written beside each line of its log, so any
//! figure can be explained to a clinic or an auditor. Typed, so the board's
//! words for it and the stored text cannot drift apart; the stored and wire
//! form (`post:<id>`, `status:pending` …) is written and read here only.

use std::fmt;

use super::{Priority, ThreadStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClockCause {
    /// The thread was opened (`thread.created`).
    ThreadCreated,
    /// A post, by its id (`post:<id>`).
    Post(String),
    /// A call logged on an existing thread, by its id (`call:<id>`).
    Call(String),
    /// The answered call a phone thread was opened from (`call.answered`).
    CallAnswered,
    /// A status change (`status:<status>`).
    Status(ThreadStatus),
    /// A priority change (`priority:<priority>`).
    Priority(Priority),
    /// A warning or breach the sweeper recorded as it came due (`sweeper`).
    Sweeper,
    /// The business calendar changed and the clock was re-projected
    /// (`calendar.changed`).
    CalendarChanged,
    /// A cause this version does not know, kept as stored.
    Other(String),
}

impl ClockCause {
    /// The stored and wire form.
    pub fn wire(&self) -> String {
        match self {
            ClockCause::ThreadCreated => "thread.created".into(),
            ClockCause::Post(id) => format!("post:{id}"),
            ClockCause::Call(id) => format!("call:{id}"),
            ClockCause::CallAnswered => "call.answered".into(),
            ClockCause::Status(s) => format!("status:{}", s.as_str()),
            ClockCause::Priority(p) => format!("priority:{}", p.as_str()),
            ClockCause::Sweeper => "sweeper".into(),
            ClockCause::CalendarChanged => "calendar.changed".into(),
            ClockCause::Other(s) => s.clone(),
        }
    }

    /// The cause of a stored form; one it does not know is kept as [`ClockCause::Other`].
    pub fn parse(s: &str) -> ClockCause {
        let known = match s {
            "thread.created" => Some(ClockCause::ThreadCreated),
            "call.answered" => Some(ClockCause::CallAnswered),
            "sweeper" => Some(ClockCause::Sweeper),
            "calendar.changed" => Some(ClockCause::CalendarChanged),
            _ => None,
        };
        known
            .or_else(|| {
                s.strip_prefix("post:")
                    .map(|id| ClockCause::Post(id.to_owned()))
            })
            .or_else(|| {
                s.strip_prefix("call:")
                    .map(|id| ClockCause::Call(id.to_owned()))
            })
            .or_else(|| {
                s.strip_prefix("status:")
                    .and_then(|x| ThreadStatus::parse(x).ok())
                    .map(ClockCause::Status)
            })
            .or_else(|| {
                s.strip_prefix("priority:")
                    .and_then(|x| Priority::parse(x).ok())
                    .map(ClockCause::Priority)
            })
            .unwrap_or_else(|| ClockCause::Other(s.to_owned()))
    }
}

impl fmt::Display for ClockCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.wire())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_reads_back_from_its_stored_form() {
        for c in [
            ClockCause::ThreadCreated,
            ClockCause::Post("0193a1b2-0000-7000-8000-000000000001".into()),
            ClockCause::Call("0193a1b2-0000-7000-8000-000000000002".into()),
            ClockCause::CallAnswered,
            ClockCause::Status(ThreadStatus::Pending),
            ClockCause::Priority(Priority::Urgent),
            ClockCause::Sweeper,
            ClockCause::CalendarChanged,
        ] {
            assert_eq!(ClockCause::parse(&c.wire()), c);
        }
        assert_eq!(
            ClockCause::Status(ThreadStatus::Pending).wire(),
            "status:pending"
        );
        assert_eq!(
            ClockCause::parse("status:sleeping"),
            ClockCause::Other("status:sleeping".into())
        );
    }
}
