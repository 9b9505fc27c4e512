//! SLA clocks in business time.
//!
//! A clock keeps the business seconds already used and, while running, the instant
//! it last started counting. Its due time is projected through the calendar from
//! that instant for what remains, so a calendar change re-projects only the rest
//! ([`Clock::reproject`]) and a priority change re-targets from the start.

use chrono::{DateTime, Utc};

use super::{ClockCause, Priority, ThreadStatus, Visibility};
use crate::calendar::{BusinessCalendar, CalendarError};

/// Targets in business minutes for one priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaPolicy {
    pub first_response_minutes: u32,
    pub next_reply_minutes: u32,
    pub resolution_minutes: u32,
}

impl SlaPolicy {
    /// A policy as an admin states it: without a next-reply target, it is the
    /// first-response one.
    pub fn stated(first_response: u32, next_reply: Option<u32>, resolution: u32) -> Self {
        SlaPolicy {
            first_response_minutes: first_response,
            next_reply_minutes: next_reply.unwrap_or(first_response),
            resolution_minutes: resolution,
        }
    }

    /// The range an admin may set a target to, in business minutes: at least a
    /// minute, at most 100,000 (about 196 business days at 8.5 hours a day).
    pub const MINUTES: std::ops::RangeInclusive<u32> = 1..=100_000;

    /// Every target inside [`Self::MINUTES`], each field's problem named.
    pub fn check(self) -> Result<Self, Vec<crate::ValidationError>> {
        let errors: Vec<_> = [
            ("first_response_minutes", self.first_response_minutes),
            ("next_reply_minutes", self.next_reply_minutes),
            ("resolution_minutes", self.resolution_minutes),
        ]
        .into_iter()
        .filter(|(_, m)| !Self::MINUTES.contains(m))
        .map(|(f, _)| {
            let mut e = crate::ValidationError::new(f, "must be between 1 and 100000 minutes")
                .because(crate::Reason::OutOfRange);
            e.limit = Some(100_000);
            e
        })
        .collect();
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }

    /// Next reply defaults to the first-response target.
    pub const fn new(first_response: u32, resolution: u32) -> Self {
        SlaPolicy {
            first_response_minutes: first_response,
            next_reply_minutes: first_response,
            resolution_minutes: resolution,
        }
    }

    pub fn minutes(&self, kind: ClockKind) -> u32 {
        match kind {
            ClockKind::FirstResponse => self.first_response_minutes,
            ClockKind::NextReply => self.next_reply_minutes,
            ClockKind::Resolution => self.resolution_minutes,
        }
    }
}

/// The policies of all four priorities, as a thread keeps them from its creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaPolicySet {
    pub low: SlaPolicy,
    pub normal: SlaPolicy,
    pub high: SlaPolicy,
    pub urgent: SlaPolicy,
}

impl Default for SlaPolicySet {
    /// urgent 30 / 240, high 60 / 510, normal 240 / 1530, low 510 / 2550 business minutes.
    fn default() -> Self {
        SlaPolicySet {
            low: SlaPolicy::new(510, 2550),
            normal: SlaPolicy::new(240, 1530),
            high: SlaPolicy::new(60, 510),
            urgent: SlaPolicy::new(30, 240),
        }
    }
}

impl SlaPolicySet {
    pub fn get(&self, p: Priority) -> SlaPolicy {
        match p {
            Priority::Low => self.low,
            Priority::Normal => self.normal,
            Priority::High => self.high,
            Priority::Urgent => self.urgent,
        }
    }

    pub fn set(&mut self, p: Priority, policy: SlaPolicy) {
        match p {
            Priority::Low => self.low = policy,
            Priority::Normal => self.normal = policy,
            Priority::High => self.high = policy,
            Priority::Urgent => self.urgent = policy,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClockKind {
    FirstResponse,
    NextReply,
    Resolution,
}

impl ClockKind {
    pub const ALL: [ClockKind; 3] = [
        ClockKind::FirstResponse,
        ClockKind::NextReply,
        ClockKind::Resolution,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClockKind::FirstResponse => "first_response",
            ClockKind::NextReply => "next_reply",
            ClockKind::Resolution => "resolution",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What happened to a clock, as its log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClockEventKind {
    Start,
    Pause,
    Resume,
    Met,
    Warning,
    Breach,
    /// The target changed (a priority change): re-counted from the start.
    Retarget,
    /// The calendar changed: the remaining time projected again.
    Reproject,
}

impl ClockEventKind {
    pub const ALL: [ClockEventKind; 8] = [
        ClockEventKind::Start,
        ClockEventKind::Pause,
        ClockEventKind::Resume,
        ClockEventKind::Met,
        ClockEventKind::Warning,
        ClockEventKind::Breach,
        ClockEventKind::Retarget,
        ClockEventKind::Reproject,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClockEventKind::Start => "start",
            ClockEventKind::Pause => "pause",
            ClockEventKind::Resume => "resume",
            ClockEventKind::Met => "met",
            ClockEventKind::Warning => "warning",
            ClockEventKind::Breach => "breach",
            ClockEventKind::Retarget => "retarget",
            ClockEventKind::Reproject => "reproject",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockPhase {
    Running,
    Paused,
    Met,
}

impl ClockPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            ClockPhase::Running => "running",
            ClockPhase::Paused => "paused",
            ClockPhase::Met => "met",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [ClockPhase::Running, ClockPhase::Paused, ClockPhase::Met]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// One line of a clock's log: what happened, when, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockEvent {
    pub kind: ClockKind,
    pub cycle: u32,
    pub event: ClockEventKind,
    pub at: DateTime<Utc>,
    /// What caused it.
    pub cause: ClockCause,
    pub used_seconds: u64,
}

/// A clock's stored state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub kind: ClockKind,
    pub cycle: u32,
    pub target_seconds: u64,
    /// Business seconds counted before `running_since`.
    pub used_seconds: u64,
    pub running_since: Option<DateTime<Utc>>,
    pub phase: ClockPhase,
    pub met_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub warn_at: Option<DateTime<Utc>>,
    pub warned: bool,
    pub breached: bool,
}

/// A clock's state as a reader sees it at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockState {
    Running,
    Paused,
    Met,
    /// Past its due time and not met (recorded by the sweeper, or already due).
    Breached,
}

impl ClockState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClockState::Running => "running",
            ClockState::Paused => "paused",
            ClockState::Met => "met",
            ClockState::Breached => "breached",
        }
    }
}

/// What a reader sees of a clock at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockView {
    pub target_minutes: u32,
    pub due_at: Option<DateTime<Utc>>,
    pub state: ClockState,
    pub used_seconds: u64,
    pub remaining_seconds: u64,
    pub met_at: Option<DateTime<Utc>>,
}

/// How pressing a clock is, as a queue shows it: the band it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// Past its due time and not met.
    Breached,
    /// Past the warning share of its target (`MADOGUCHI_SLA_WARNING_PERCENT`),
    /// the point where the warning event fires.
    Warned,
    /// Before that, or not running at all.
    OnTime,
}

impl ClockView {
    /// The band of a clock seen as `self`, with the warning at `warn_permille`
    /// of the target (the share the sweeper warns at).
    pub fn urgency(&self, warn_permille: u32) -> Urgency {
        match self.state {
            ClockState::Breached => Urgency::Breached,
            ClockState::Met => Urgency::OnTime,
            ClockState::Running | ClockState::Paused => {
                let target = u64::from(self.target_minutes) * 60;
                let warn = target * u64::from(warn_permille) / 1000;
                if target > 0 && self.used_seconds >= warn {
                    Urgency::Warned
                } else {
                    Urgency::OnTime
                }
            }
        }
    }
}

fn ev(c: &Clock, event: ClockEventKind, at: DateTime<Utc>, cause: &ClockCause) -> ClockEvent {
    ClockEvent {
        kind: c.kind,
        cycle: c.cycle,
        event,
        at,
        cause: cause.clone(),
        used_seconds: c.used_seconds,
    }
}

impl Clock {
    /// A clock that starts counting at `at`.
    pub fn start(
        kind: ClockKind,
        cycle: u32,
        target_minutes: u32,
        at: DateTime<Utc>,
        cal: &BusinessCalendar,
        warn_permille: u32,
    ) -> Result<Clock, CalendarError> {
        let mut c = Clock {
            kind,
            cycle,
            target_seconds: u64::from(target_minutes) * 60,
            used_seconds: 0,
            running_since: Some(at),
            phase: ClockPhase::Running,
            met_at: None,
            due_at: None,
            warn_at: None,
            warned: false,
            breached: false,
        };
        c.project(cal, warn_permille)?;
        Ok(c)
    }

    /// The warning and the breach whose instants have come by `at` and are not
    /// yet recorded, marked recorded and returned as log events at their own
    /// instants (a late sweep still logs when it happened); a clock whose stored
    /// instants are stale (projected under a calendar since changed) but whose
    /// used time is over its target is breached at `at`. A breach implies the
    /// warning. Only a running clock raises either: the one rule the sweeper, and
    /// anything that stands in for it, applies.
    pub fn fire_due(&mut self, at: DateTime<Utc>, cal: &BusinessCalendar) -> Vec<ClockEvent> {
        let mut out = Vec::new();
        if self.phase != ClockPhase::Running {
            return out;
        }
        // The stored instants were projected under the calendar of their day; if
        // the calendar changed since and the re-projection has not reached this
        // clock yet, the time used under the current one decides, as `meet`
        // decides: a clock over its target is breached now.
        let over = !self.breached
            && self
                .used_at(at, cal)
                .is_ok_and(|used| used > self.target_seconds);
        let breach = match self.due_at.filter(|_| !self.breached) {
            Some(d) if d <= at => Some(d),
            _ if over => Some(at),
            _ => None,
        };
        let warning = match self.warn_at.filter(|_| !self.warned) {
            Some(w) if w <= at => Some(w),
            _ if !self.warned => breach,
            _ => None,
        };
        let pending = [
            (ClockEventKind::Warning, warning),
            (ClockEventKind::Breach, breach),
        ];
        for (event, due) in pending {
            let Some(due) = due.filter(|d| *d <= at) else {
                continue;
            };
            self.warned = true;
            if event == ClockEventKind::Breach {
                self.breached = true;
            }
            out.push(ClockEvent {
                kind: self.kind,
                cycle: self.cycle,
                event,
                at: due,
                cause: ClockCause::Sweeper,
                used_seconds: self.used_at(due, cal).unwrap_or(self.used_seconds),
            });
        }
        out
    }

    /// Business seconds used by `now`.
    pub fn used_at(
        &self,
        now: DateTime<Utc>,
        cal: &BusinessCalendar,
    ) -> Result<u64, CalendarError> {
        Ok(match (self.phase, self.running_since) {
            (ClockPhase::Running, Some(since)) => self.used_seconds + cal.elapsed(since, now)?,
            _ => self.used_seconds,
        })
    }

    /// Recompute `due_at` and `warn_at` for what remains.
    pub fn project(
        &mut self,
        cal: &BusinessCalendar,
        warn_permille: u32,
    ) -> Result<(), CalendarError> {
        match (self.phase, self.running_since) {
            (ClockPhase::Running, Some(since)) => {
                let remaining = self.target_seconds.saturating_sub(self.used_seconds);
                self.due_at = Some(cal.due(since, remaining)?);
                let warn_target = self.target_seconds * u64::from(warn_permille) / 1000;
                self.warn_at = if self.used_seconds < warn_target {
                    Some(cal.due(since, warn_target - self.used_seconds)?)
                } else {
                    self.due_at.filter(|_| !self.warned).map(|_| since)
                };
            }
            _ => {
                self.due_at = None;
                self.warn_at = None;
            }
        }
        Ok(())
    }

    /// Stop counting for now (the thread waits on the customer).
    pub fn pause(
        &mut self,
        at: DateTime<Utc>,
        cal: &BusinessCalendar,
        cause: &ClockCause,
    ) -> Result<Option<ClockEvent>, CalendarError> {
        if self.phase != ClockPhase::Running {
            return Ok(None);
        }
        self.used_seconds = self.used_at(at, cal)?;
        self.running_since = None;
        self.phase = ClockPhase::Paused;
        self.due_at = None;
        self.warn_at = None;
        Ok(Some(ev(self, ClockEventKind::Pause, at, cause)))
    }

    /// Count again, keeping the time already used (also after a `met` on reopen).
    pub fn resume(
        &mut self,
        at: DateTime<Utc>,
        cal: &BusinessCalendar,
        warn_permille: u32,
        cause: &ClockCause,
    ) -> Result<Option<ClockEvent>, CalendarError> {
        if self.phase == ClockPhase::Running {
            return Ok(None);
        }
        self.phase = ClockPhase::Running;
        self.running_since = Some(at);
        self.met_at = None;
        self.project(cal, warn_permille)?;
        Ok(Some(ev(self, ClockEventKind::Resume, at, cause)))
    }

    /// The clock's goal is reached.
    pub fn meet(
        &mut self,
        at: DateTime<Utc>,
        cal: &BusinessCalendar,
        cause: &ClockCause,
    ) -> Result<Option<ClockEvent>, CalendarError> {
        if self.phase == ClockPhase::Met {
            return Ok(None);
        }
        self.used_seconds = self.used_at(at, cal)?;
        self.running_since = None;
        self.phase = ClockPhase::Met;
        self.met_at = Some(at);
        if self.used_seconds > self.target_seconds {
            self.breached = true;
        }
        self.due_at = None;
        self.warn_at = None;
        Ok(Some(ev(self, ClockEventKind::Met, at, cause)))
    }

    /// A new target (priority change), counted from the clock's start.
    pub fn retarget(
        &mut self,
        target_minutes: u32,
        at: DateTime<Utc>,
        cal: &BusinessCalendar,
        warn_permille: u32,
        cause: &ClockCause,
    ) -> Result<Option<ClockEvent>, CalendarError> {
        let target = u64::from(target_minutes) * 60;
        if target == self.target_seconds {
            return Ok(None);
        }
        self.target_seconds = target;
        if self.phase != ClockPhase::Met {
            let used = self.used_at(at, cal)?;
            // A clock that is now within its new, longer target is no longer breached
            // and may warn again; a shorter target may be breached at once (the sweeper
            // records that).
            if used < target {
                self.breached = false;
            }
            if used < target * u64::from(warn_permille) / 1000 {
                self.warned = false;
            }
            self.project(cal, warn_permille)?;
        }
        Ok(Some(ev(self, ClockEventKind::Retarget, at, cause)))
    }

    /// The calendar changed at `now`: keep what was used under the old calendar,
    /// project the rest under the new one.
    pub fn reproject(
        &mut self,
        now: DateTime<Utc>,
        old: &BusinessCalendar,
        new: &BusinessCalendar,
        warn_permille: u32,
    ) -> Result<Option<ClockEvent>, CalendarError> {
        if self.phase != ClockPhase::Running {
            return Ok(None);
        }
        self.used_seconds = self.used_at(now, old)?;
        self.running_since = Some(now);
        self.project(new, warn_permille)?;
        Ok(Some(ev(
            self,
            ClockEventKind::Reproject,
            now,
            &ClockCause::CalendarChanged,
        )))
    }

    pub fn view(&self, now: DateTime<Utc>, cal: &BusinessCalendar) -> ClockView {
        let used = self.used_at(now, cal).unwrap_or(self.used_seconds);
        let over = used >= self.target_seconds && self.target_seconds > 0;
        let state = match self.phase {
            ClockPhase::Met => ClockState::Met,
            _ if self.breached
                || (over
                    && self.phase == ClockPhase::Running
                    && self.due_at.is_some_and(|d| d <= now)) =>
            {
                ClockState::Breached
            }
            ClockPhase::Paused => ClockState::Paused,
            ClockPhase::Running => ClockState::Running,
        };
        ClockView {
            target_minutes: u32::try_from(self.target_seconds / 60).unwrap_or(u32::MAX),
            due_at: self.due_at,
            state,
            used_seconds: used,
            remaining_seconds: self.target_seconds.saturating_sub(used),
            met_at: self.met_at,
        }
    }
}

/// Who wrote a post, as the clocks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    Customer,
    Staff,
}

/// A thread's three clocks. Next reply exists once a first cycle started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadSla {
    pub first_response: Clock,
    pub next_reply: Option<Clock>,
    pub resolution: Clock,
}

/// The outcome of a post for the thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostEffect {
    pub status: ThreadStatus,
    pub events: Vec<ClockEvent>,
}

impl ThreadSla {
    /// Clocks of a new thread: first response and resolution start at `at` (the
    /// creation, or the start of the call for a phone-originated thread).
    pub fn open(
        policy: SlaPolicy,
        at: DateTime<Utc>,
        cal: &BusinessCalendar,
        warn_permille: u32,
    ) -> Result<(ThreadSla, Vec<ClockEvent>), CalendarError> {
        let fr = Clock::start(
            ClockKind::FirstResponse,
            1,
            policy.first_response_minutes,
            at,
            cal,
            warn_permille,
        )?;
        let res = Clock::start(
            ClockKind::Resolution,
            1,
            policy.resolution_minutes,
            at,
            cal,
            warn_permille,
        )?;
        let events = vec![
            ev(&fr, ClockEventKind::Start, at, &ClockCause::ThreadCreated),
            ev(&res, ClockEventKind::Start, at, &ClockCause::ThreadCreated),
        ];
        Ok((
            ThreadSla {
                first_response: fr,
                next_reply: None,
                resolution: res,
            },
            events,
        ))
    }

    pub fn clocks(&self) -> impl Iterator<Item = &Clock> {
        std::iter::once(&self.first_response)
            .chain(self.next_reply.as_ref())
            .chain(std::iter::once(&self.resolution))
    }

    /// Whether any clock reads breached at `now`: what the queue and the thread
    /// call `breached`.
    pub fn any_breached(&self, now: DateTime<Utc>, cal: &BusinessCalendar) -> bool {
        self.clocks()
            .any(|c| c.view(now, cal).state == ClockState::Breached)
    }

    /// Every clock's due warnings and breaches (see [`Clock::fire_due`]).
    pub fn fire_due(&mut self, at: DateTime<Utc>, cal: &BusinessCalendar) -> Vec<ClockEvent> {
        self.clocks_mut()
            .flat_map(|c| c.fire_due(at, cal))
            .collect()
    }

    pub fn clocks_mut(&mut self) -> impl Iterator<Item = &mut Clock> {
        std::iter::once(&mut self.first_response)
            .chain(self.next_reply.as_mut())
            .chain(std::iter::once(&mut self.resolution))
    }

    /// The clock a customer is waiting on for an answer: the first response
    /// until it is met, then the next reply while one is owed; `None` once
    /// every answer owed has been given.
    pub fn answer_clock(&self) -> Option<&Clock> {
        if self.first_response.phase != ClockPhase::Met {
            return Some(&self.first_response);
        }
        self.next_reply
            .as_ref()
            .filter(|c| c.phase != ClockPhase::Met)
    }

    /// The clock an agent's queue row is about: a breached clock not yet met
    /// first (the queue puts breaches first), else the running clock due
    /// soonest (the queue's order, see [`ThreadSla::urgency`]).
    pub fn pressing(&self, now: DateTime<Utc>) -> Option<&Clock> {
        let overdue = self
            .clocks()
            .filter(|c| c.phase != ClockPhase::Met)
            .filter(|c| c.breached || c.due_at.is_some_and(|d| d <= now))
            .min_by_key(|c| c.due_at);
        overdue.or_else(|| {
            self.clocks()
                .filter(|c| c.phase == ClockPhase::Running)
                .filter(|c| c.due_at.is_some())
                .min_by_key(|c| c.due_at)
        })
    }

    /// The nearest due time of a running clock (the queue's order), and whether any
    /// clock is breached.
    pub fn urgency(&self, now: DateTime<Utc>) -> (Option<DateTime<Utc>>, bool) {
        let due = self
            .clocks()
            .filter(|c| c.phase == ClockPhase::Running)
            .filter_map(|c| c.due_at)
            .min();
        let breached = self.clocks().any(|c| {
            c.phase != ClockPhase::Met && (c.breached || c.due_at.is_some_and(|d| d <= now))
        });
        (due, breached)
    }

    /// A post was added. `last_public_by_staff` says who wrote the previous public post.
    #[allow(clippy::too_many_arguments)]
    pub fn on_post(
        &mut self,
        status: ThreadStatus,
        author: Author,
        visibility: Visibility,
        last_public_by_staff: bool,
        policy: SlaPolicy,
        at: DateTime<Utc>,
        cal: &BusinessCalendar,
        warn_permille: u32,
        cause: &ClockCause,
    ) -> Result<PostEffect, CalendarError> {
        let mut events = Vec::new();
        let mut status = status;
        if visibility == Visibility::Internal {
            // Internal notes never count for any clock.
            return Ok(PostEffect { status, events });
        }
        match author {
            Author::Staff => {
                events.extend(self.first_response.meet(at, cal, cause)?);
                if let Some(nr) = self.next_reply.as_mut() {
                    if nr.phase == ClockPhase::Running {
                        events.extend(nr.meet(at, cal, cause)?);
                    }
                }
                status = status.after_agent_reply();
            }
            Author::Customer => {
                let reopened = status.after_customer_reply();
                if reopened != status {
                    events.extend(self.resolution.resume(at, cal, warn_permille, cause)?);
                    status = reopened;
                }
                let nr_running = self
                    .next_reply
                    .as_ref()
                    .is_some_and(|c| c.phase == ClockPhase::Running);
                if self.first_response.phase == ClockPhase::Met
                    && last_public_by_staff
                    && !nr_running
                    && status != ThreadStatus::Closed
                {
                    let cycle = self.next_reply.as_ref().map(|c| c.cycle + 1).unwrap_or(1);
                    let c = Clock::start(
                        ClockKind::NextReply,
                        cycle,
                        policy.next_reply_minutes,
                        at,
                        cal,
                        warn_permille,
                    )?;
                    events.push(ev(&c, ClockEventKind::Start, at, cause));
                    self.next_reply = Some(c);
                }
            }
        }
        Ok(PostEffect { status, events })
    }

    /// An answered call logged on the thread counts like an agent's public reply
    /// for first response.
    pub fn on_answered_call(
        &mut self,
        at: DateTime<Utc>,
        cal: &BusinessCalendar,
        cause: &ClockCause,
    ) -> Result<Vec<ClockEvent>, CalendarError> {
        Ok(self
            .first_response
            .meet(at, cal, cause)?
            .into_iter()
            .collect())
    }

    /// The status changed explicitly (already checked by the status machine).
    pub fn on_status(
        &mut self,
        from: ThreadStatus,
        to: ThreadStatus,
        at: DateTime<Utc>,
        cal: &BusinessCalendar,
        warn_permille: u32,
    ) -> Result<Vec<ClockEvent>, CalendarError> {
        let cause = ClockCause::Status(to);
        let mut events = Vec::new();
        match to {
            ThreadStatus::Pending => events.extend(self.resolution.pause(at, cal, &cause)?),
            ThreadStatus::Resolved | ThreadStatus::Closed => {
                events.extend(self.resolution.meet(at, cal, &cause)?)
            }
            ThreadStatus::Open
                if matches!(from, ThreadStatus::Pending | ThreadStatus::Resolved) =>
            {
                events.extend(self.resolution.resume(at, cal, warn_permille, &cause)?)
            }
            _ => {}
        }
        Ok(events)
    }

    /// A priority change re-targets every clock from its start.
    pub fn on_priority(
        &mut self,
        policy: SlaPolicy,
        priority: Priority,
        at: DateTime<Utc>,
        cal: &BusinessCalendar,
        warn_permille: u32,
    ) -> Result<Vec<ClockEvent>, CalendarError> {
        let cause = ClockCause::Priority(priority);
        let mut events = Vec::new();
        for c in self.clocks_mut() {
            let minutes = policy.minutes(c.kind);
            events.extend(c.retarget(minutes, at, cal, warn_permille, &cause)?);
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests;
