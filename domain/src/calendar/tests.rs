//! Expected values here were worked out by hand from the law's rules and a
//! calendar (weekdays), not by running this code.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};

use super::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn holidays(y: i32) -> Vec<(String, &'static str)> {
    holidays_of_year(y)
        .into_iter()
        .map(|h| (h.date.format("%m-%d").to_string(), h.name))
        .collect()
}

fn check_year(y: i32, expected: &[(&str, &str)]) {
    let got = holidays(y);
    let want: Vec<(String, &str)> = expected.iter().map(|(d, n)| (d.to_string(), *n)).collect();
    assert_eq!(got, want, "holidays of {y}");
}

#[test]
fn holidays_1973_first_substitute_holidays() {
    // 2/11 is a Sunday before the 1973-04-12 amendment: no substitute.
    check_year(
        1973,
        &[
            ("01-01", "元日"),
            ("01-15", "成人の日"),
            ("02-11", "建国記念の日"),
            ("03-21", "春分の日"),
            ("04-29", "天皇誕生日"),
            ("04-30", "振替休日"),
            ("05-03", "憲法記念日"),
            ("05-05", "こどもの日"),
            ("09-15", "敬老の日"),
            ("09-23", "秋分の日"),
            ("09-24", "振替休日"),
            ("10-10", "体育の日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
        ],
    );
}

#[test]
fn holidays_1985_and_1986() {
    check_year(
        1985,
        &[
            ("01-01", "元日"),
            ("01-15", "成人の日"),
            ("02-11", "建国記念の日"),
            ("03-21", "春分の日"),
            ("04-29", "天皇誕生日"),
            ("05-03", "憲法記念日"),
            ("05-05", "こどもの日"),
            ("05-06", "振替休日"),
            ("09-15", "敬老の日"),
            ("09-16", "振替休日"),
            ("09-23", "秋分の日"),
            ("10-10", "体育の日"),
            ("11-03", "文化の日"),
            ("11-04", "振替休日"),
            ("11-23", "勤労感謝の日"),
        ],
    );
    // 1986-05-04 lies between two holidays but is a Sunday: not a citizens' holiday.
    check_year(
        1986,
        &[
            ("01-01", "元日"),
            ("01-15", "成人の日"),
            ("02-11", "建国記念の日"),
            ("03-21", "春分の日"),
            ("04-29", "天皇誕生日"),
            ("05-03", "憲法記念日"),
            ("05-05", "こどもの日"),
            ("09-15", "敬老の日"),
            ("09-23", "秋分の日"),
            ("10-10", "体育の日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
            ("11-24", "振替休日"),
        ],
    );
}

#[test]
fn holidays_1989_the_funeral_and_the_new_names() {
    check_year(
        1989,
        &[
            ("01-01", "元日"),
            ("01-02", "振替休日"),
            ("01-15", "成人の日"),
            ("01-16", "振替休日"),
            ("02-11", "建国記念の日"),
            ("02-24", "昭和天皇の大喪の礼"),
            ("03-21", "春分の日"),
            ("04-29", "みどりの日"),
            ("05-03", "憲法記念日"),
            ("05-04", "国民の休日"),
            ("05-05", "こどもの日"),
            ("09-15", "敬老の日"),
            ("09-23", "秋分の日"),
            ("10-10", "体育の日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
            ("12-23", "天皇誕生日"),
        ],
    );
}

#[test]
fn holidays_1990_and_1993_one_off_ceremonies() {
    check_year(
        1990,
        &[
            ("01-01", "元日"),
            ("01-15", "成人の日"),
            ("02-11", "建国記念の日"),
            ("02-12", "振替休日"),
            ("03-21", "春分の日"),
            ("04-29", "みどりの日"),
            ("04-30", "振替休日"),
            ("05-03", "憲法記念日"),
            ("05-04", "国民の休日"),
            ("05-05", "こどもの日"),
            ("09-15", "敬老の日"),
            ("09-23", "秋分の日"),
            ("09-24", "振替休日"),
            ("10-10", "体育の日"),
            ("11-03", "文化の日"),
            ("11-12", "即位礼正殿の儀"),
            ("11-23", "勤労感謝の日"),
            ("12-23", "天皇誕生日"),
            ("12-24", "振替休日"),
        ],
    );
    check_year(
        1993,
        &[
            ("01-01", "元日"),
            ("01-15", "成人の日"),
            ("02-11", "建国記念の日"),
            ("03-20", "春分の日"),
            ("04-29", "みどりの日"),
            ("05-03", "憲法記念日"),
            ("05-04", "国民の休日"),
            ("05-05", "こどもの日"),
            ("06-09", "皇太子徳仁親王の結婚の儀"),
            ("09-15", "敬老の日"),
            ("09-23", "秋分の日"),
            ("10-10", "体育の日"),
            ("10-11", "振替休日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
            ("12-23", "天皇誕生日"),
        ],
    );
}

#[test]
fn holidays_2000_and_2003_happy_mondays() {
    check_year(
        2000,
        &[
            ("01-01", "元日"),
            ("01-10", "成人の日"),
            ("02-11", "建国記念の日"),
            ("03-20", "春分の日"),
            ("04-29", "みどりの日"),
            ("05-03", "憲法記念日"),
            ("05-04", "国民の休日"),
            ("05-05", "こどもの日"),
            ("07-20", "海の日"),
            ("09-15", "敬老の日"),
            ("09-23", "秋分の日"),
            ("10-09", "体育の日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
            ("12-23", "天皇誕生日"),
        ],
    );
    check_year(
        2003,
        &[
            ("01-01", "元日"),
            ("01-13", "成人の日"),
            ("02-11", "建国記念の日"),
            ("03-21", "春分の日"),
            ("04-29", "みどりの日"),
            ("05-03", "憲法記念日"),
            ("05-05", "こどもの日"),
            ("07-21", "海の日"),
            ("09-15", "敬老の日"),
            ("09-23", "秋分の日"),
            ("10-13", "体育の日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
            ("11-24", "振替休日"),
            ("12-23", "天皇誕生日"),
        ],
    );
}

#[test]
fn holidays_2006_to_2009_the_2007_rules() {
    check_year(
        2006,
        &[
            ("01-01", "元日"),
            ("01-02", "振替休日"),
            ("01-09", "成人の日"),
            ("02-11", "建国記念の日"),
            ("03-21", "春分の日"),
            ("04-29", "みどりの日"),
            ("05-03", "憲法記念日"),
            ("05-04", "国民の休日"),
            ("05-05", "こどもの日"),
            ("07-17", "海の日"),
            ("09-18", "敬老の日"),
            ("09-23", "秋分の日"),
            ("10-09", "体育の日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
            ("12-23", "天皇誕生日"),
        ],
    );
    check_year(
        2007,
        &[
            ("01-01", "元日"),
            ("01-08", "成人の日"),
            ("02-11", "建国記念の日"),
            ("02-12", "振替休日"),
            ("03-21", "春分の日"),
            ("04-29", "昭和の日"),
            ("04-30", "振替休日"),
            ("05-03", "憲法記念日"),
            ("05-04", "みどりの日"),
            ("05-05", "こどもの日"),
            ("07-16", "海の日"),
            ("09-17", "敬老の日"),
            ("09-23", "秋分の日"),
            ("09-24", "振替休日"),
            ("10-08", "体育の日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
            ("12-23", "天皇誕生日"),
            ("12-24", "振替休日"),
        ],
    );
    // 5/4 (みどりの日) on a Sunday: the next day is a holiday too, so the substitute is 5/6.
    check_year(
        2008,
        &[
            ("01-01", "元日"),
            ("01-14", "成人の日"),
            ("02-11", "建国記念の日"),
            ("03-20", "春分の日"),
            ("04-29", "昭和の日"),
            ("05-03", "憲法記念日"),
            ("05-04", "みどりの日"),
            ("05-05", "こどもの日"),
            ("05-06", "振替休日"),
            ("07-21", "海の日"),
            ("09-15", "敬老の日"),
            ("09-23", "秋分の日"),
            ("10-13", "体育の日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
            ("11-24", "振替休日"),
            ("12-23", "天皇誕生日"),
        ],
    );
    // The first silver week: 9/22 between 敬老の日 and 秋分の日.
    check_year(
        2009,
        &[
            ("01-01", "元日"),
            ("01-12", "成人の日"),
            ("02-11", "建国記念の日"),
            ("03-20", "春分の日"),
            ("04-29", "昭和の日"),
            ("05-03", "憲法記念日"),
            ("05-04", "みどりの日"),
            ("05-05", "こどもの日"),
            ("05-06", "振替休日"),
            ("07-20", "海の日"),
            ("09-21", "敬老の日"),
            ("09-22", "国民の休日"),
            ("09-23", "秋分の日"),
            ("10-12", "体育の日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
            ("12-23", "天皇誕生日"),
        ],
    );
}

#[test]
fn holidays_2015_and_2016_mountain_day() {
    check_year(
        2015,
        &[
            ("01-01", "元日"),
            ("01-12", "成人の日"),
            ("02-11", "建国記念の日"),
            ("03-21", "春分の日"),
            ("04-29", "昭和の日"),
            ("05-03", "憲法記念日"),
            ("05-04", "みどりの日"),
            ("05-05", "こどもの日"),
            ("05-06", "振替休日"),
            ("07-20", "海の日"),
            ("09-21", "敬老の日"),
            ("09-22", "国民の休日"),
            ("09-23", "秋分の日"),
            ("10-12", "体育の日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
            ("12-23", "天皇誕生日"),
        ],
    );
    check_year(
        2016,
        &[
            ("01-01", "元日"),
            ("01-11", "成人の日"),
            ("02-11", "建国記念の日"),
            ("03-20", "春分の日"),
            ("03-21", "振替休日"),
            ("04-29", "昭和の日"),
            ("05-03", "憲法記念日"),
            ("05-04", "みどりの日"),
            ("05-05", "こどもの日"),
            ("07-18", "海の日"),
            ("08-11", "山の日"),
            ("09-19", "敬老の日"),
            ("09-22", "秋分の日"),
            ("10-10", "体育の日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
            ("12-23", "天皇誕生日"),
        ],
    );
}

#[test]
fn holidays_2019_the_enthronement_year() {
    // No 天皇誕生日 at all in 2019.
    check_year(
        2019,
        &[
            ("01-01", "元日"),
            ("01-14", "成人の日"),
            ("02-11", "建国記念の日"),
            ("03-21", "春分の日"),
            ("04-29", "昭和の日"),
            ("04-30", "国民の休日"),
            ("05-01", "天皇の即位の日"),
            ("05-02", "国民の休日"),
            ("05-03", "憲法記念日"),
            ("05-04", "みどりの日"),
            ("05-05", "こどもの日"),
            ("05-06", "振替休日"),
            ("07-15", "海の日"),
            ("08-11", "山の日"),
            ("08-12", "振替休日"),
            ("09-16", "敬老の日"),
            ("09-23", "秋分の日"),
            ("10-14", "体育の日"),
            ("10-22", "即位礼正殿の儀"),
            ("11-03", "文化の日"),
            ("11-04", "振替休日"),
            ("11-23", "勤労感謝の日"),
        ],
    );
}

#[test]
fn holidays_2020_and_2021_olympic_moves() {
    check_year(
        2020,
        &[
            ("01-01", "元日"),
            ("01-13", "成人の日"),
            ("02-11", "建国記念の日"),
            ("02-23", "天皇誕生日"),
            ("02-24", "振替休日"),
            ("03-20", "春分の日"),
            ("04-29", "昭和の日"),
            ("05-03", "憲法記念日"),
            ("05-04", "みどりの日"),
            ("05-05", "こどもの日"),
            ("05-06", "振替休日"),
            ("07-23", "海の日"),
            ("07-24", "スポーツの日"),
            ("08-10", "山の日"),
            ("09-21", "敬老の日"),
            ("09-22", "秋分の日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
        ],
    );
    check_year(
        2021,
        &[
            ("01-01", "元日"),
            ("01-11", "成人の日"),
            ("02-11", "建国記念の日"),
            ("02-23", "天皇誕生日"),
            ("03-20", "春分の日"),
            ("04-29", "昭和の日"),
            ("05-03", "憲法記念日"),
            ("05-04", "みどりの日"),
            ("05-05", "こどもの日"),
            ("07-22", "海の日"),
            ("07-23", "スポーツの日"),
            ("08-08", "山の日"),
            ("08-09", "振替休日"),
            ("09-20", "敬老の日"),
            ("09-23", "秋分の日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
        ],
    );
}

#[test]
fn holidays_2026_2032_2050() {
    check_year(
        2026,
        &[
            ("01-01", "元日"),
            ("01-12", "成人の日"),
            ("02-11", "建国記念の日"),
            ("02-23", "天皇誕生日"),
            ("03-20", "春分の日"),
            ("04-29", "昭和の日"),
            ("05-03", "憲法記念日"),
            ("05-04", "みどりの日"),
            ("05-05", "こどもの日"),
            ("05-06", "振替休日"),
            ("07-20", "海の日"),
            ("08-11", "山の日"),
            ("09-21", "敬老の日"),
            ("09-22", "国民の休日"),
            ("09-23", "秋分の日"),
            ("10-12", "スポーツの日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
        ],
    );
    // 秋分の日 on 9/22 (Wednesday) puts 9/21 between it and 敬老の日.
    check_year(
        2032,
        &[
            ("01-01", "元日"),
            ("01-12", "成人の日"),
            ("02-11", "建国記念の日"),
            ("02-23", "天皇誕生日"),
            ("03-20", "春分の日"),
            ("04-29", "昭和の日"),
            ("05-03", "憲法記念日"),
            ("05-04", "みどりの日"),
            ("05-05", "こどもの日"),
            ("07-19", "海の日"),
            ("08-11", "山の日"),
            ("09-20", "敬老の日"),
            ("09-21", "国民の休日"),
            ("09-22", "秋分の日"),
            ("10-11", "スポーツの日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
        ],
    );
    check_year(
        2050,
        &[
            ("01-01", "元日"),
            ("01-10", "成人の日"),
            ("02-11", "建国記念の日"),
            ("02-23", "天皇誕生日"),
            ("03-20", "春分の日"),
            ("03-21", "振替休日"),
            ("04-29", "昭和の日"),
            ("05-03", "憲法記念日"),
            ("05-04", "みどりの日"),
            ("05-05", "こどもの日"),
            ("07-18", "海の日"),
            ("08-11", "山の日"),
            ("09-19", "敬老の日"),
            ("09-23", "秋分の日"),
            ("10-10", "スポーツの日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
        ],
    );
}

#[test]
fn holidays_one_offs_and_range() {
    assert!(holidays(1959).contains(&("04-10".to_string(), "皇太子明仁親王の結婚の儀")));
    assert!(holidays_of_year(1954).is_empty());
    assert!(holidays_of_year(2100).is_empty());
    // 建国記念の日 begins in 1967; 体育の日 and 敬老の日 in 1966.
    assert!(!holidays(1966).iter().any(|h| h.1 == "建国記念の日"));
    assert!(holidays(1967).iter().any(|h| h.0 == "02-11"));
    assert!(!holidays(1965)
        .iter()
        .any(|h| h.1 == "敬老の日" || h.1 == "体育の日"));
}

// ---- business time -------------------------------------------------------

/// The default calendar, built once for the whole test run.
fn cal() -> &'static BusinessCalendar {
    static CAL: std::sync::OnceLock<BusinessCalendar> = std::sync::OnceLock::new();
    CAL.get_or_init(|| BusinessCalendar::build(CalendarRules::default()))
}

/// A Tokyo wall-clock time as a UTC instant.
fn jst(y: i32, m: u32, day: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    FixedOffset::east_opt(9 * 3600)
        .unwrap()
        .with_ymd_and_hms(y, m, day, h, min, s)
        .unwrap()
        .with_timezone(&Utc)
}

const MIN: u64 = 60;

#[test]
fn a_full_day_ends_at_closing_time_not_next_morning() {
    let c = cal();
    // 2026-11-30 is a Monday.
    assert_eq!(
        c.due(jst(2026, 11, 30, 9, 0, 0), 510 * MIN).unwrap(),
        jst(2026, 11, 30, 17, 30, 0)
    );
    assert_eq!(
        c.due(jst(2026, 11, 30, 9, 0, 0), 510 * MIN + 1).unwrap(),
        jst(2026, 12, 1, 9, 0, 1)
    );
}

#[test]
fn zero_seconds_is_the_start_itself_even_when_closed() {
    let c = cal();
    let sat = jst(2026, 11, 28, 3, 4, 5);
    assert_eq!(c.due(sat, 0).unwrap(), sat);
}

#[test]
fn the_last_second_before_closing() {
    let c = cal();
    // Friday 2026-11-27 17:29:59: one second is left that day.
    let t = jst(2026, 11, 27, 17, 29, 59);
    assert_eq!(c.due(t, 1).unwrap(), jst(2026, 11, 27, 17, 30, 0));
    assert_eq!(c.due(t, 2).unwrap(), jst(2026, 11, 30, 9, 0, 1));
    // 17:30:00 is closed: it counts from Monday's opening.
    assert_eq!(
        c.due(jst(2026, 11, 27, 17, 30, 0), 60).unwrap(),
        jst(2026, 11, 30, 9, 1, 0)
    );
    assert!(c.is_open(jst(2026, 11, 27, 17, 29, 59)).unwrap());
    assert!(!c.is_open(jst(2026, 11, 27, 17, 30, 0)).unwrap());
}

#[test]
fn golden_week_2026() {
    let c = cal();
    // Friday 5/1 is a working day; 5/2–5/6 are closed (weekend, 憲法記念日, みどりの日,
    // こどもの日, 振替休日); 5/7 Thursday opens.
    assert_eq!(
        c.due(jst(2026, 5, 1, 17, 0, 0), 60 * MIN).unwrap(),
        jst(2026, 5, 7, 9, 30, 0)
    );
    assert_eq!(
        c.elapsed(jst(2026, 5, 1, 17, 0, 0), jst(2026, 5, 7, 9, 30, 0))
            .unwrap(),
        3600
    );
}

#[test]
fn year_end_closure_2026() {
    let c = cal();
    // Monday 12/28 is the last working day; 12/29–1/3 are closed; 2027-01-04 is a Monday.
    assert_eq!(
        c.due(jst(2026, 12, 28, 17, 0, 0), 60 * MIN).unwrap(),
        jst(2027, 1, 4, 9, 30, 0)
    );
}

#[test]
fn the_2019_ten_day_holiday_run() {
    let c = cal();
    // Friday 2019-04-26 17:00; closed 4/27 (Sat) to 5/6 (振替休日); open Tuesday 5/7.
    assert_eq!(
        c.due(jst(2019, 4, 26, 17, 0, 0), 60 * MIN).unwrap(),
        jst(2019, 5, 7, 9, 30, 0)
    );
    for day in 27..=30 {
        assert!(c.day(d(2019, 4, day)).unwrap().closed.is_some());
    }
    for day in 1..=6 {
        assert!(c.day(d(2019, 5, day)).unwrap().closed.is_some());
    }
}

#[test]
fn offsets_do_not_matter_only_the_instant() {
    let c = cal();
    let utc = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap(); // 09:00 JST Monday
    let ny = FixedOffset::west_opt(5 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 29, 19, 0, 0)
        .unwrap();
    assert_eq!(ny.with_timezone(&Utc), utc);
    let due = c.due(ny.with_timezone(&Utc), 510 * MIN).unwrap();
    assert_eq!(due, Utc.with_ymd_and_hms(2026, 11, 30, 8, 30, 0).unwrap());
    assert_eq!(c.due(utc, 510 * MIN).unwrap(), due);
}

#[test]
fn elapsed_counts_only_open_time() {
    let c = cal();
    // Friday 17:00 to Monday 10:00: 30 min + 60 min.
    assert_eq!(
        c.elapsed(jst(2026, 11, 27, 17, 0, 0), jst(2026, 11, 30, 10, 0, 0))
            .unwrap(),
        5400
    );
    // Reversed or empty: zero.
    assert_eq!(
        c.elapsed(jst(2026, 11, 30, 10, 0, 0), jst(2026, 11, 27, 17, 0, 0))
            .unwrap(),
        0
    );
    // A plain week of 5 × 8.5 h.
    assert_eq!(
        c.elapsed(jst(2026, 11, 30, 0, 0, 0), jst(2026, 12, 7, 0, 0, 0))
            .unwrap(),
        5 * 510 * 60
    );
}

#[test]
fn out_of_range_is_an_error_not_a_panic() {
    let c = cal();
    assert_eq!(
        c.due(jst(1954, 12, 31, 12, 0, 0), 1),
        Err(CalendarError::OutOfRange)
    );
    assert_eq!(
        c.elapsed(jst(2026, 1, 5, 9, 0, 0), jst(2100, 1, 1, 0, 0, 0)),
        Err(CalendarError::OutOfRange)
    );
    assert_eq!(
        c.due(jst(2099, 12, 28, 9, 0, 0), 10 * 3600),
        Err(CalendarError::OutOfRange)
    );
    assert_eq!(
        c.due(jst(2026, 1, 5, 9, 0, 0), u64::MAX),
        Err(CalendarError::OutOfRange)
    );
    // The very first day works: 1955-01-01 is 元日, 01-03 closure; 01-04 (Tuesday) opens.
    assert_eq!(
        c.due(jst(1955, 1, 1, 0, 0, 0), 60).unwrap(),
        jst(1955, 1, 4, 9, 1, 0)
    );
}

#[test]
fn admin_overrides_close_or_shorten_a_day() {
    let mut rules = CalendarRules::default();
    // Wednesday 2026-12-02: maintenance closure. Monday 2026-12-28: 09:00–12:00 only.
    rules.overrides.insert(
        d(2026, 12, 2),
        DateOverride::Closed {
            note: "システムメンテナンス".into(),
        },
    );
    rules.overrides.insert(
        d(2026, 12, 28),
        DateOverride::Hours {
            intervals: vec![Interval::new(9 * 3600, 12 * 3600).unwrap()],
            note: "仕事納め".into(),
        },
    );
    let c = BusinessCalendar::build(rules);
    assert_eq!(
        c.due(jst(2026, 12, 1, 17, 0, 0), 60 * MIN).unwrap(),
        jst(2026, 12, 3, 9, 30, 0)
    );
    assert_eq!(
        c.day(d(2026, 12, 2)).unwrap().closed,
        Some(ClosedReason::Closure {
            note: "システムメンテナンス".into()
        })
    );
    assert_eq!(
        c.due(jst(2026, 12, 28, 11, 0, 0), 90 * MIN).unwrap(),
        jst(2027, 1, 4, 9, 30, 0)
    );
    // An override may open a holiday.
    let mut rules = CalendarRules::default();
    rules.overrides.insert(
        d(2026, 11, 23),
        DateOverride::Hours {
            intervals: vec![Interval::new(10 * 3600, 11 * 3600).unwrap()],
            note: "臨時窓口".into(),
        },
    );
    let c = BusinessCalendar::build(rules);
    let day = c.day(d(2026, 11, 23)).unwrap();
    assert_eq!(day.holiday, Some("勤労感謝の日"));
    assert!(day.closed.is_none());
    assert_eq!(
        c.elapsed(jst(2026, 11, 23, 0, 0, 0), jst(2026, 11, 24, 0, 0, 0))
            .unwrap(),
        3600
    );
}

#[test]
fn days_say_why_they_are_closed() {
    let c = cal();
    assert_eq!(
        c.day(d(2026, 11, 28)).unwrap().closed,
        Some(ClosedReason::Weekend)
    );
    assert_eq!(
        c.day(d(2026, 11, 23)).unwrap().closed,
        Some(ClosedReason::Holiday {
            name: "勤労感謝の日"
        })
    );
    assert_eq!(
        c.day(d(2026, 12, 30)).unwrap().closed,
        Some(ClosedReason::Closure {
            note: YEAR_END_NOTE.into()
        })
    );
    let open = c.day(d(2026, 11, 30)).unwrap();
    assert_eq!(
        open.intervals,
        vec![Interval::new(9 * 3600, 17 * 3600 + 1800).unwrap()]
    );
}

#[test]
fn weekly_schedules_parse() {
    let s = WeeklySchedule::parse("mon-fri=09:00-12:00,13:00-17:30; sat=09:00-12:00").unwrap();
    assert_eq!(s.on(chrono::Weekday::Tue).len(), 2);
    assert_eq!(
        s.on(chrono::Weekday::Sat),
        &[Interval::new(9 * 3600, 12 * 3600).unwrap()]
    );
    assert!(s.on(chrono::Weekday::Sun).is_empty());
    for bad in [
        "mon=9-17",
        "xyz=09:00-10:00",
        "fri-mon=09:00-10:00",
        "mon=10:00-09:00",
        "mon=09:00-12:00,11:00-13:00",
        "mon=25:00-26:00",
    ] {
        assert!(WeeklySchedule::parse(bad).is_err(), "{bad}");
    }
    let c = BusinessCalendar::build(CalendarRules {
        schedule: s,
        ..CalendarRules::default()
    });
    // Lunch is closed: 11:30 + 60 min = 13:30.
    assert_eq!(
        c.due(jst(2026, 11, 30, 11, 30, 0), 60 * MIN).unwrap(),
        jst(2026, 11, 30, 13, 30, 0)
    );
}

// ---- properties -----------------------------------------------------------

mod props {
    use proptest::prelude::*;

    use super::*;

    /// Minute-stepping reference, from the rules directly (no tables).
    fn open_at(rules: &CalendarRules, t: DateTime<Utc>) -> bool {
        let local = t.with_timezone(&crate::time::TOKYO);
        let date = local.date_naive();
        static HOLIDAYS: std::sync::OnceLock<std::collections::HashMap<NaiveDate, &'static str>> =
            std::sync::OnceLock::new();
        let map = HOLIDAYS.get_or_init(|| {
            (2017..=2028)
                .flat_map(holidays_of_year)
                .map(|h| (h.date, h.name))
                .collect()
        });
        let name = map.get(&date).copied();
        let s = local.time().num_seconds_from_midnight();
        rules
            .day(date, name)
            .intervals
            .iter()
            .any(|iv| iv.start <= s && s < iv.end)
    }

    fn naive_elapsed(rules: &CalendarRules, a: DateTime<Utc>, b: DateTime<Utc>) -> u64 {
        let mut t = a;
        let mut n = 0;
        while t < b {
            if open_at(rules, t) {
                n += 60;
            }
            t += Duration::minutes(1);
        }
        n
    }

    fn naive_due(rules: &CalendarRules, a: DateTime<Utc>, n: u64) -> DateTime<Utc> {
        let mut t = a;
        let mut left = n;
        while left > 0 {
            if open_at(rules, t) {
                left -= 60;
            }
            t += Duration::minutes(1);
        }
        t
    }

    use chrono::Timelike;

    fn minute_instant() -> impl Strategy<Value = DateTime<Utc>> {
        // Whole minutes between 2018 and 2027, where Golden Weeks and the 2019 run are.
        (0i64..(9 * 365 * 24 * 60))
            .prop_map(|m| Utc.with_ymd_and_hms(2018, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(m))
    }

    /// 1955-02 to 2090-06: far enough from the ends that `due` of up to four
    /// business years stays inside the calendar.
    fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
        (-470_000_000i64..3_800_000_000i64).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn elapsed_of_due_is_n(t in any_instant(), n in 0u64..(3 * 365 * 30_600)) {
            let c = cal();
            let due = c.due(t, n).unwrap();
            prop_assert!(due >= t);
            prop_assert_eq!(c.elapsed(t, due).unwrap(), n);
            // And it is the earliest such instant.
            if n > 0 {
                prop_assert!(c.elapsed(t, due - Duration::seconds(1)).unwrap() < n);
            }
        }

        #[test]
        fn due_is_monotonic(t in any_instant(), dt in 0i64..1_000_000, n in 0u64..1_000_000, dn in 0u64..100_000) {
            let c = cal();
            let t2 = t + Duration::seconds(dt);
            prop_assert!(c.due(t, n).unwrap() <= c.due(t2, n).unwrap());
            prop_assert!(c.due(t, n).unwrap() <= c.due(t, n + dn).unwrap());
        }

        #[test]
        fn fast_path_equals_minute_stepping(a in minute_instant(), span in 0i64..(12 * 24 * 60), minutes in 0u64..(4 * 510)) {
            let rules = CalendarRules::default();
            let c = cal();
            let b = a + Duration::minutes(span);
            prop_assert_eq!(c.elapsed(a, b).unwrap(), naive_elapsed(&rules, a, b));
            let n = minutes * 60;
            let want = naive_due(&rules, a, n);
            // The reference steps whole minutes, so it lands on the end of the last
            // open minute; for n > 0 that is exactly the earliest instant.
            prop_assert_eq!(c.due(a, n).unwrap(), want);
        }
    }

    #[test]
    fn reference_agrees_on_a_known_case() {
        let rules = CalendarRules::default();
        assert_eq!(
            naive_due(&rules, jst(2026, 11, 30, 9, 0, 0), 510 * 60),
            jst(2026, 11, 30, 17, 30, 0)
        );
    }
}
