//! A clinic's thread traced by hand against the calendar (normal priority:
//! first response 240 min, resolution 1530 min; hours 09:00–17:30 JST).

use chrono::{DateTime, FixedOffset, TimeZone, Utc};

use super::*;
use crate::calendar::{BusinessCalendar, CalendarRules};

fn cal() -> &'static BusinessCalendar {
    static CAL: std::sync::OnceLock<BusinessCalendar> = std::sync::OnceLock::new();
    CAL.get_or_init(|| BusinessCalendar::build(CalendarRules::default()))
}

fn jst(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    FixedOffset::east_opt(9 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

const W: u32 = 750;

#[test]
fn friday_evening_thread_through_golden_week() {
    let policy = SlaPolicySet::default().get(Priority::Normal);
    // Friday 2026-04-24 17:00.
    let (mut sla, events) = ThreadSla::open(policy, jst(4, 24, 17, 0), cal(), W).unwrap();
    assert_eq!(events.len(), 2);
    // 30 min on Friday, 210 on Monday from 09:00.
    assert_eq!(sla.first_response.due_at, Some(jst(4, 27, 12, 30)));
    // 30 Fri + 510 Mon + 510 Tue, Wed 4/29 昭和の日, 480 Thu.
    assert_eq!(sla.resolution.due_at, Some(jst(4, 30, 17, 0)));

    // An internal note at 17:10 changes nothing.
    let fx = sla
        .on_post(
            ThreadStatus::New,
            Author::Staff,
            Visibility::Internal,
            false,
            policy,
            jst(4, 24, 17, 10),
            cal(),
            W,
            &ClockCause::parse("post:1"),
        )
        .unwrap();
    assert!(fx.events.is_empty());
    assert_eq!(sla.first_response.phase, ClockPhase::Running);

    // The agent answers publicly at 17:20: first response met after 20 minutes.
    let fx = sla
        .on_post(
            ThreadStatus::New,
            Author::Staff,
            Visibility::Public,
            false,
            policy,
            jst(4, 24, 17, 20),
            cal(),
            W,
            &ClockCause::parse("post:2"),
        )
        .unwrap();
    assert_eq!(fx.status, ThreadStatus::Open);
    assert_eq!(sla.first_response.phase, ClockPhase::Met);
    assert_eq!(sla.first_response.used_seconds, 20 * 60);
    assert!(!sla.first_response.breached);

    // Pending at 17:25: resolution paused with 25 minutes used.
    sla.on_status(
        ThreadStatus::Open,
        ThreadStatus::Pending,
        jst(4, 24, 17, 25),
        cal(),
        W,
    )
    .unwrap();
    assert_eq!(sla.resolution.phase, ClockPhase::Paused);
    assert_eq!(sla.resolution.used_seconds, 25 * 60);
    assert_eq!(sla.resolution.due_at, None);

    // The clinic replies Monday 10:00: reopened, resolution resumes, next reply starts.
    let fx = sla
        .on_post(
            ThreadStatus::Pending,
            Author::Customer,
            Visibility::Public,
            true,
            policy,
            jst(4, 27, 10, 0),
            cal(),
            W,
            &ClockCause::parse("post:3"),
        )
        .unwrap();
    assert_eq!(fx.status, ThreadStatus::Open);
    assert_eq!(sla.resolution.phase, ClockPhase::Running);
    // 1505 minutes left: Mon 450, Tue 510, Wed holiday, Thu 510, Fri 35.
    assert_eq!(sla.resolution.due_at, Some(jst(5, 1, 9, 35)));
    let nr = sla.next_reply.as_ref().unwrap();
    assert_eq!((nr.cycle, nr.due_at), (1, Some(jst(4, 27, 14, 0))));

    // The agent answers at 11:00: next reply met after 60 minutes.
    sla.on_post(
        ThreadStatus::Open,
        Author::Staff,
        Visibility::Public,
        false,
        policy,
        jst(4, 27, 11, 0),
        cal(),
        W,
        &ClockCause::parse("post:4"),
    )
    .unwrap();
    let nr = sla.next_reply.as_ref().unwrap();
    assert_eq!((nr.phase, nr.used_seconds), (ClockPhase::Met, 3600));

    // Resolved Thursday 5/7 10:00, after Golden Week (5/2–5/6 closed): 25 + 450 + 510
    // + 510 + 510 + 60 = 2065 minutes, over the 1530-minute target.
    sla.on_status(
        ThreadStatus::Open,
        ThreadStatus::Resolved,
        jst(5, 7, 10, 0),
        cal(),
        W,
    )
    .unwrap();
    assert_eq!(sla.resolution.phase, ClockPhase::Met);
    assert_eq!(sla.resolution.used_seconds, 2065 * 60);
    assert!(sla.resolution.breached);
    assert_eq!(
        sla.resolution.view(jst(5, 7, 12, 0), cal()).state,
        ClockState::Met
    );
}

#[test]
fn warnings_come_at_three_quarters() {
    let policy = SlaPolicySet::default().get(Priority::Urgent);
    let (sla, _) = ThreadSla::open(policy, jst(11, 30, 9, 0), cal(), 750).unwrap();
    // 75 % of 30 minutes = 22.5 minutes.
    assert_eq!(
        sla.first_response.warn_at,
        Some(jst(11, 30, 9, 22) + chrono::Duration::seconds(30))
    );
    assert_eq!(sla.first_response.due_at, Some(jst(11, 30, 9, 30)));
}

#[test]
fn a_customer_post_without_an_agent_answer_starts_no_next_reply() {
    let policy = SlaPolicySet::default().get(Priority::High);
    let (mut sla, _) = ThreadSla::open(policy, jst(11, 30, 9, 0), cal(), W).unwrap();
    // Customer adds details before anyone answered: first response still running.
    sla.on_post(
        ThreadStatus::New,
        Author::Customer,
        Visibility::Public,
        false,
        policy,
        jst(11, 30, 9, 10),
        cal(),
        W,
        &ClockCause::parse("post:2"),
    )
    .unwrap();
    assert!(sla.next_reply.is_none());
    sla.on_post(
        ThreadStatus::New,
        Author::Staff,
        Visibility::Public,
        false,
        policy,
        jst(11, 30, 9, 20),
        cal(),
        W,
        &ClockCause::parse("post:3"),
    )
    .unwrap();
    // Two customer posts in a row after the answer: one cycle.
    sla.on_post(
        ThreadStatus::Open,
        Author::Customer,
        Visibility::Public,
        true,
        policy,
        jst(11, 30, 10, 0),
        cal(),
        W,
        &ClockCause::parse("post:4"),
    )
    .unwrap();
    sla.on_post(
        ThreadStatus::Open,
        Author::Customer,
        Visibility::Public,
        false,
        policy,
        jst(11, 30, 10, 5),
        cal(),
        W,
        &ClockCause::parse("post:5"),
    )
    .unwrap();
    assert_eq!(sla.next_reply.as_ref().unwrap().cycle, 1);
    assert_eq!(
        sla.next_reply.as_ref().unwrap().due_at,
        Some(jst(11, 30, 11, 0))
    );
    sla.on_post(
        ThreadStatus::Open,
        Author::Staff,
        Visibility::Public,
        false,
        policy,
        jst(11, 30, 10, 30),
        cal(),
        W,
        &ClockCause::parse("post:6"),
    )
    .unwrap();
    sla.on_post(
        ThreadStatus::Open,
        Author::Customer,
        Visibility::Public,
        true,
        policy,
        jst(11, 30, 11, 0),
        cal(),
        W,
        &ClockCause::parse("post:7"),
    )
    .unwrap();
    assert_eq!(sla.next_reply.as_ref().unwrap().cycle, 2);
}

#[test]
fn a_priority_change_retargets_from_the_start() {
    let set = SlaPolicySet::default();
    let (mut sla, _) =
        ThreadSla::open(set.get(Priority::Normal), jst(11, 30, 9, 0), cal(), W).unwrap();
    assert_eq!(sla.first_response.due_at, Some(jst(11, 30, 13, 0)));
    // At 09:20 it becomes urgent: 30 minutes from 09:00.
    sla.on_priority(
        set.get(Priority::Urgent),
        Priority::Urgent,
        jst(11, 30, 9, 20),
        cal(),
        W,
    )
    .unwrap();
    assert_eq!(sla.first_response.due_at, Some(jst(11, 30, 9, 30)));
    assert_eq!(sla.resolution.due_at, Some(jst(11, 30, 13, 0)));
    // At 09:40 (already past) it becomes urgent → breached by the view.
    assert_eq!(
        sla.first_response.view(jst(11, 30, 9, 40), cal()).state,
        ClockState::Breached
    );
}

#[test]
fn a_calendar_change_keeps_time_used_and_moves_the_rest() {
    let set = SlaPolicySet::default();
    let (mut sla, _) =
        ThreadSla::open(set.get(Priority::Normal), jst(11, 30, 9, 0), cal(), W).unwrap();
    // Monday 09:00 + 1530 min: Mon, Tue, Wed full days = 1530 → Wednesday 17:30.
    assert_eq!(sla.resolution.due_at, Some(jst(12, 2, 17, 30)));
    // At Monday 12:00 an admin closes Tuesday 12/1.
    let mut rules = CalendarRules::default();
    rules.overrides.insert(
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        crate::calendar::DateOverride::Closed {
            note: "保守".into(),
        },
    );
    let new = BusinessCalendar::build(rules);
    sla.resolution
        .reproject(jst(11, 30, 12, 0), cal(), &new, W)
        .unwrap();
    assert_eq!(sla.resolution.used_seconds, 180 * 60);
    assert_eq!(sla.resolution.due_at, Some(jst(12, 3, 17, 30)));
}

#[test]
fn due_warnings_and_breaches_fire_once_at_their_own_instants() {
    let policy = SlaPolicySet::default().get(Priority::Normal);
    // Monday 2026-12-07 09:00: first response 240 min, warning at 75 % = 180 min.
    let (mut sla, _) = ThreadSla::open(policy, jst(12, 7, 9, 0), cal(), W).unwrap();
    assert_eq!(sla.first_response.warn_at, Some(jst(12, 7, 12, 0)));
    assert_eq!(sla.first_response.due_at, Some(jst(12, 7, 13, 0)));
    assert!(sla.fire_due(jst(12, 7, 11, 59), cal()).is_empty());

    // A sweep at 12:30 logs the warning as of 12:00, with the 180 minutes used then.
    let fired = sla.fire_due(jst(12, 7, 12, 30), cal());
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].kind, ClockKind::FirstResponse);
    assert_eq!(fired[0].event, ClockEventKind::Warning);
    assert_eq!(fired[0].at, jst(12, 7, 12, 0));
    assert_eq!(fired[0].used_seconds, 180 * 60);
    assert!(sla.fire_due(jst(12, 7, 12, 45), cal()).is_empty(), "once");

    // A late sweep the next morning still logs the breach at 13:00, and the
    // resolution warning (1530 × 75 % = 1147.5 min: Mon 510, Tue 510, Wed 127.5
    // → Wed 11:07:30) only once its instant has come.
    let fired = sla.fire_due(jst(12, 8, 9, 30), cal());
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].event, ClockEventKind::Breach);
    assert_eq!(fired[0].at, jst(12, 7, 13, 0));
    assert_eq!(fired[0].used_seconds, 240 * 60);
    assert!(sla.first_response.breached && sla.first_response.warned);
    let wed = FixedOffset::east_opt(9 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 12, 9, 11, 7, 30)
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(sla.resolution.warn_at, Some(wed));
    let fired = sla.fire_due(jst(12, 9, 12, 0), cal());
    assert_eq!(fired.len(), 1);
    assert_eq!(
        (fired[0].kind, fired[0].event, fired[0].at),
        (ClockKind::Resolution, ClockEventKind::Warning, wed)
    );
}

#[test]
fn a_paused_clock_raises_nothing() {
    let policy = SlaPolicySet::default().get(Priority::Normal);
    let (mut sla, _) = ThreadSla::open(policy, jst(12, 7, 9, 0), cal(), W).unwrap();
    sla.on_status(
        ThreadStatus::Open,
        ThreadStatus::Pending,
        jst(12, 7, 9, 30),
        cal(),
        W,
    )
    .unwrap();
    // Resolution paused while pending; only the first response can still fire.
    let fired = sla.fire_due(jst(12, 31, 12, 0), cal());
    assert!(
        fired.iter().all(|e| e.kind == ClockKind::FirstResponse),
        "{fired:?}"
    );
    assert!(!sla.resolution.warned && !sla.resolution.breached);
}

#[test]
fn event_kinds_round_trip_through_their_names() {
    for k in ClockEventKind::ALL {
        assert_eq!(ClockEventKind::parse(k.as_str()), Some(k));
    }
    assert_eq!(ClockEventKind::parse("Warning"), None);
}

#[test]
fn a_stated_policy_without_next_reply_takes_the_first_response_target() {
    let p = SlaPolicy::stated(60, None, 510);
    assert_eq!(p.next_reply_minutes, 60);
    assert_eq!(
        SlaPolicy::stated(60, Some(120), 510).next_reply_minutes,
        120
    );
}

#[test]
fn the_answer_a_customer_waits_for_and_the_clock_an_agent_sees() {
    let policy = SlaPolicySet::default().get(Priority::Normal);
    // Tuesday 2026-12-01 10:00: first response due 14:00 (240 min), resolution
    // 1530 min later = 7:30 Tue + 8:30 Wed + 8:30 Thu + 1:00 Fri → Fri 10:00.
    let (mut sla, _) = ThreadSla::open(policy, jst(12, 1, 10, 0), cal(), W).unwrap();
    assert_eq!(
        sla.answer_clock().map(|c| c.kind),
        Some(ClockKind::FirstResponse)
    );
    let p = sla.pressing(jst(12, 1, 11, 0)).unwrap();
    assert_eq!(
        (p.kind, p.due_at),
        (ClockKind::FirstResponse, Some(jst(12, 1, 14, 0)))
    );
    // Unanswered at 15:00: the first response is overdue and comes first.
    let p = sla.pressing(jst(12, 1, 15, 0)).unwrap();
    assert_eq!(p.kind, ClockKind::FirstResponse);
    // The agent answers at 15:10; nothing more is owed to the customer until
    // they write again, and the resolution clock is what remains.
    sla.on_post(
        ThreadStatus::New,
        Author::Staff,
        Visibility::Public,
        false,
        policy,
        jst(12, 1, 15, 10),
        cal(),
        W,
        &ClockCause::parse("post:1"),
    )
    .unwrap();
    assert!(sla.answer_clock().is_none());
    let p = sla.pressing(jst(12, 1, 15, 20)).unwrap();
    assert_eq!(
        (p.kind, p.due_at),
        (ClockKind::Resolution, Some(jst(12, 4, 10, 0)))
    );
}

#[test]
fn a_policy_outside_one_to_100000_minutes_names_each_field() {
    assert!(SlaPolicy::stated(1, None, 100_000).check().is_ok());
    let errors = SlaPolicy::stated(0, Some(100_001), 60).check().unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| &*e.field).collect();
    assert_eq!(fields, ["first_response_minutes", "next_reply_minutes"]);
}

#[test]
fn a_clock_over_its_target_under_the_current_calendar_is_breached_even_if_its_due_time_is_stale() {
    use crate::calendar::DateOverride;
    // Projected while Monday 2026-12-07 was closed for maintenance: the first
    // response (240 min) falls due Tuesday 13:00, warned Tuesday 12:00.
    let mut closed = CalendarRules::default();
    closed.overrides.insert(
        chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
        DateOverride::Closed {
            note: "臨時メンテナンス".into(),
        },
    );
    let closed = BusinessCalendar::build(closed);
    let policy = SlaPolicySet::default().get(Priority::Normal);
    let (mut sla, _) = ThreadSla::open(policy, jst(12, 7, 9, 0), &closed, W).unwrap();
    assert_eq!(sla.first_response.due_at, Some(jst(12, 8, 13, 0)));
    // The closure is lifted; before the re-projection reaches this clock, an
    // agent's reply comes at Monday 14:00, 300 open minutes after the start.
    // The sweeper's rule breaches it now (and warns, a breach implies it),
    // so the meeting that follows is not a breach nobody logged.
    let fired = sla.fire_due(jst(12, 7, 14, 0), cal());
    let got: Vec<_> = fired.iter().map(|e| (e.kind, e.event, e.at)).collect();
    assert_eq!(
        got,
        vec![
            (
                ClockKind::FirstResponse,
                ClockEventKind::Warning,
                jst(12, 7, 14, 0)
            ),
            (
                ClockKind::FirstResponse,
                ClockEventKind::Breach,
                jst(12, 7, 14, 0)
            ),
        ]
    );
    assert!(sla.first_response.breached && sla.first_response.warned);
    // Resolution (1530 min) is far from over: nothing for it.
    assert!(!sla.resolution.warned && !sla.resolution.breached);
    assert!(sla.fire_due(jst(12, 7, 14, 30), cal()).is_empty(), "once");
}

#[test]
fn the_urgency_band_follows_the_configured_warning_share() {
    // A 240-minute target with 180 minutes used: 75 % of it.
    let view = |state, used_minutes: u64| ClockView {
        target_minutes: 240,
        due_at: None,
        state,
        used_seconds: used_minutes * 60,
        remaining_seconds: (240 - used_minutes.min(240)) * 60,
        met_at: None,
    };
    assert_eq!(view(ClockState::Running, 180).urgency(750), Urgency::Warned);
    assert_eq!(view(ClockState::Running, 179).urgency(750), Urgency::OnTime);
    // With the warning at 50 %, two hours in is already past it; at 90 %, not yet.
    assert_eq!(view(ClockState::Running, 120).urgency(500), Urgency::Warned);
    assert_eq!(view(ClockState::Running, 180).urgency(900), Urgency::OnTime);
    // A paused clock keeps its band; a met one is on time; a breached one is late.
    assert_eq!(view(ClockState::Paused, 200).urgency(750), Urgency::Warned);
    assert_eq!(view(ClockState::Met, 239).urgency(750), Urgency::OnTime);
    assert_eq!(
        view(ClockState::Breached, 300).urgency(750),
        Urgency::Breached
    );
}
