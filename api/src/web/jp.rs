//! How the board writes times, durations and states in Japanese, always in
//! Asia/Tokyo (never the machine's zone).

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc, Weekday};
use chrono_tz::Asia::Tokyo;
use madoguchi_domain::{
    board::{ClockEventKind, ClockKind, Priority, ThreadStatus},
    calendar::{hhmm, CalendarRules, Interval},
    ContractStatus, Role,
};

fn weekday(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "月",
        Weekday::Tue => "火",
        Weekday::Wed => "水",
        Weekday::Thu => "木",
        Weekday::Fri => "金",
        Weekday::Sat => "土",
        Weekday::Sun => "日",
    }
}

/// `12月2日(水) 10:30`
pub fn datetime(t: DateTime<Utc>) -> String {
    let l = t.with_timezone(&Tokyo);
    format!(
        "{}月{}日({}) {}:{:02}",
        l.month(),
        l.day(),
        weekday(l.weekday()),
        l.hour(),
        l.minute()
    )
}

/// `2026年12月2日(水) 10:30`, for logs where the year matters.
pub fn full_datetime(t: DateTime<Utc>) -> String {
    let l = t.with_timezone(&Tokyo);
    format!("{}年{}", l.year(), datetime(t))
}

/// The machine-readable form for `<time datetime>`: RFC 3339 in +09:00.
pub fn machine(t: DateTime<Utc>) -> String {
    madoguchi_domain::time::to_wire(t).to_rfc3339()
}

/// Business seconds as `1時間20分` (whole minutes, rounded down; under a minute `1分未満`).
pub fn duration(seconds: u64) -> String {
    let minutes = seconds / 60;
    match (minutes / 60, minutes % 60) {
        (0, 0) => "1分未満".to_owned(),
        (0, m) => format!("{m}分"),
        (h, 0) => format!("{h}時間"),
        (h, m) => format!("{h}時間{m}分"),
    }
}

pub fn status(s: ThreadStatus) -> &'static str {
    match s {
        ThreadStatus::New => "新規",
        ThreadStatus::Open => "対応中",
        ThreadStatus::Pending => "お客様の返信待ち",
        ThreadStatus::Resolved => "解決済み",
        ThreadStatus::Closed => "完了",
    }
}

pub fn priority(p: Priority) -> &'static str {
    match p {
        Priority::Low => "低",
        Priority::Normal => "通常",
        Priority::High => "高",
        Priority::Urgent => "緊急",
    }
}

pub fn clock(k: ClockKind) -> &'static str {
    match k {
        ClockKind::FirstResponse => "初回回答",
        ClockKind::NextReply => "次回回答",
        ClockKind::Resolution => "解決",
    }
}

pub fn clock_event(e: ClockEventKind) -> &'static str {
    match e {
        ClockEventKind::Start => "開始",
        ClockEventKind::Pause => "一時停止",
        ClockEventKind::Resume => "再開",
        ClockEventKind::Met => "達成",
        ClockEventKind::Warning => "警告",
        ClockEventKind::Breach => "超過",
        ClockEventKind::Retarget => "目標変更",
        ClockEventKind::Reproject => "再計算",
    }
}

/// Open intervals of a day: `9:00–12:00・13:00–17:30` (empty when closed).
pub fn intervals(ivs: &[Interval]) -> String {
    ivs.iter()
        .map(|i| format!("{}–{}", short(i.start), short(i.end)))
        .collect::<Vec<_>>()
        .join("・")
}

/// `12月29日(火)`
pub fn date(d: NaiveDate) -> String {
    format!("{}月{}日({})", d.month(), d.day(), weekday(d.weekday()))
}

/// A role as the board names it.
pub fn role(r: Role) -> &'static str {
    match r {
        Role::Customer => "医療機関",
        Role::Agent => "サポート担当",
        Role::Admin => "管理者",
    }
}

/// A contract's state as an admin reads it.
pub fn contract(c: ContractStatus) -> &'static str {
    match c {
        ContractStatus::Active => "契約中",
        ContractStatus::Suspended => "一時停止",
        ContractStatus::Ended => "契約終了",
    }
}

/// The reception hours as a customer reads them, from the configured week:
/// `平日 9:00–17:30、土日祝・年末年始を除く` for the default.
pub fn hours(rules: &CalendarRules) -> String {
    const DAYS: [(Weekday, &str); 7] = [
        (Weekday::Mon, "月"),
        (Weekday::Tue, "火"),
        (Weekday::Wed, "水"),
        (Weekday::Thu, "木"),
        (Weekday::Fri, "金"),
        (Weekday::Sat, "土"),
        (Weekday::Sun, "日"),
    ];
    let span = |w: Weekday| intervals(rules.schedule.on(w));
    // Runs of consecutive days with the same hours.
    let mut parts: Vec<(usize, usize, String)> = Vec::new();
    for (i, (w, _)) in DAYS.iter().enumerate() {
        let s = span(*w);
        if s.is_empty() {
            continue;
        }
        match parts.last_mut() {
            Some((_, end, last)) if *end + 1 == i && *last == s => *end = i,
            _ => parts.push((i, i, s)),
        }
    }
    let open: Vec<String> = parts
        .iter()
        .map(|(a, b, s)| {
            let days = match (*a, *b) {
                (0, 4) => "平日".to_owned(),
                (a, b) if a == b => format!("{}曜", DAYS[a].1),
                (a, b) => format!("{}〜{}曜", DAYS[a].1, DAYS[b].1),
            };
            format!("{days} {s}")
        })
        .collect();
    let mut closed: Vec<&str> = Vec::new();
    let weekend_closed =
        rules.schedule.on(Weekday::Sat).is_empty() && rules.schedule.on(Weekday::Sun).is_empty();
    if weekend_closed {
        closed.push("土日祝");
    } else {
        closed.push("祝日");
    }
    if rules.year_end_closure {
        closed.push("年末年始");
    }
    format!("{}、{}を除く", open.join("、"), closed.join("・"))
}

/// `9:00`, `17:30` (no leading zero, as Japanese notices write hours).
fn short(seconds: u32) -> String {
    let s = hhmm(seconds);
    s.strip_prefix('0').map(str::to_owned).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_read_in_tokyo_with_the_weekday() {
        // 2026-12-02 01:30 UTC is Wednesday 10:30 in Tokyo.
        let t = Utc.with_ymd_and_hms(2026, 12, 2, 1, 30, 0).unwrap();
        assert_eq!(datetime(t), "12月2日(水) 10:30");
        // 2026-12-31 15:05 UTC is already New Year's Day (a Friday) in Tokyo.
        let t = Utc.with_ymd_and_hms(2026, 12, 31, 15, 5, 0).unwrap();
        assert_eq!(full_datetime(t), "2027年1月1日(金) 0:05");
    }

    #[test]
    fn durations_in_hours_and_minutes() {
        assert_eq!(duration(80 * 60 + 59), "1時間20分");
        assert_eq!(duration(35 * 60), "35分");
        assert_eq!(duration(2 * 3600), "2時間");
        assert_eq!(duration(59), "1分未満");
    }

    #[test]
    fn the_default_week_reads_as_the_disclosure_writes_it() {
        assert_eq!(
            hours(&CalendarRules::default()),
            "平日 9:00–17:30、土日祝・年末年始を除く"
        );
        let rules = CalendarRules {
            schedule: madoguchi_domain::calendar::WeeklySchedule::parse(
                "mon-fri=09:00-12:00,13:00-17:30;sat=09:00-12:00",
            )
            .unwrap(),
            year_end_closure: false,
            ..CalendarRules::default()
        };
        assert_eq!(
            hours(&rules),
            "平日 9:00–12:00・13:00–17:30、土曜 9:00–12:00、祝日を除く"
        );
    }
}
