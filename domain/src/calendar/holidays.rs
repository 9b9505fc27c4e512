//! Japanese national holidays, computed from 国民の祝日に関する法律 and its
//! amendments: the rules, the years each applied, and the short list of
//! one-off days and moves. Correct for 1955–2099.

use chrono::{Datelike, NaiveDate, Weekday};

/// First and last year the rules here are written for.
pub const FIRST_YEAR: i32 = 1955;
pub const LAST_YEAR: i32 = 2099;

/// One holiday and its Japanese name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: &'static str,
}

pub const SUBSTITUTE: &str = "振替休日";
pub const CITIZENS: &str = "国民の休日";

fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// The `n`-th Monday of a month (Happy Monday system).
fn nth_monday(y: i32, m: u32, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(y, m, Weekday::Mon, n)
}

/// Day of March of 春分の日, by the standard approximation of the equinox
/// (valid 1900–2099; integer division truncates as in the published formula).
pub fn vernal_equinox_day(y: i32) -> u32 {
    let (c, base) = if y <= 1979 {
        (20.8357, (y - 1983) / 4)
    } else {
        (20.8431, (y - 1980) / 4)
    };
    (c + 0.242194 * f64::from(y - 1980) - f64::from(base)).floor() as u32
}

/// Day of September of 秋分の日.
pub fn autumnal_equinox_day(y: i32) -> u32 {
    let (c, base) = if y <= 1979 {
        (23.2588, (y - 1983) / 4)
    } else {
        (23.2488, (y - 1980) / 4)
    };
    (c + 0.242194 * f64::from(y - 1980) - f64::from(base)).floor() as u32
}

/// 国民の祝日 of a year: the days named by the law (article 2) and by the special
/// laws for one-off days, before substitute holidays and citizens' holidays.
fn named_holidays(y: i32) -> Vec<Holiday> {
    let mut out: Vec<(Option<NaiveDate>, &'static str)> = Vec::with_capacity(20);
    out.push((ymd(y, 1, 1), "元日"));
    out.push((
        if y < 2000 {
            ymd(y, 1, 15)
        } else {
            nth_monday(y, 1, 2)
        },
        "成人の日",
    ));
    if y >= 1967 {
        out.push((ymd(y, 2, 11), "建国記念の日"));
    }
    out.push((ymd(y, 3, vernal_equinox_day(y)), "春分の日"));
    out.push((
        ymd(y, 4, 29),
        match y {
            ..=1988 => "天皇誕生日",
            1989..=2006 => "みどりの日",
            _ => "昭和の日",
        },
    ));
    out.push((ymd(y, 5, 3), "憲法記念日"));
    if y >= 2007 {
        out.push((ymd(y, 5, 4), "みどりの日"));
    }
    out.push((ymd(y, 5, 5), "こどもの日"));
    match y {
        1996..=2002 => out.push((ymd(y, 7, 20), "海の日")),
        2020 => out.push((ymd(y, 7, 23), "海の日")),
        2021 => out.push((ymd(y, 7, 22), "海の日")),
        2003.. => out.push((nth_monday(y, 7, 3), "海の日")),
        _ => {}
    }
    match y {
        2020 => out.push((ymd(y, 8, 10), "山の日")),
        2021 => out.push((ymd(y, 8, 8), "山の日")),
        2016.. => out.push((ymd(y, 8, 11), "山の日")),
        _ => {}
    }
    match y {
        1966..=2002 => out.push((ymd(y, 9, 15), "敬老の日")),
        2003.. => out.push((nth_monday(y, 9, 3), "敬老の日")),
        _ => {}
    }
    out.push((ymd(y, 9, autumnal_equinox_day(y)), "秋分の日"));
    match y {
        1966..=1999 => out.push((ymd(y, 10, 10), "体育の日")),
        2000..=2019 => out.push((nth_monday(y, 10, 2), "体育の日")),
        2020 => out.push((ymd(y, 7, 24), "スポーツの日")),
        2021 => out.push((ymd(y, 7, 23), "スポーツの日")),
        2022.. => out.push((nth_monday(y, 10, 2), "スポーツの日")),
        _ => {}
    }
    out.push((ymd(y, 11, 3), "文化の日"));
    out.push((ymd(y, 11, 23), "勤労感謝の日"));
    match y {
        1989..=2018 => out.push((ymd(y, 12, 23), "天皇誕生日")),
        2020.. => out.push((ymd(y, 2, 23), "天皇誕生日")),
        _ => {}
    }
    // One-off days, each by its own law.
    for (date, name) in [
        ((1959, 4, 10), "皇太子明仁親王の結婚の儀"),
        ((1989, 2, 24), "昭和天皇の大喪の礼"),
        ((1990, 11, 12), "即位礼正殿の儀"),
        ((1993, 6, 9), "皇太子徳仁親王の結婚の儀"),
        ((2019, 5, 1), "天皇の即位の日"),
        ((2019, 10, 22), "即位礼正殿の儀"),
    ] {
        if date.0 == y {
            out.push((ymd(date.0, date.1, date.2), name));
        }
    }
    let mut v: Vec<Holiday> = out
        .into_iter()
        .filter_map(|(d, name)| d.map(|date| Holiday { date, name }))
        .collect();
    v.sort_by_key(|h| h.date);
    v
}

/// Every holiday of year `y` (national holidays, substitute holidays, citizens'
/// holidays), sorted by date. Empty outside [`FIRST_YEAR`]..=[`LAST_YEAR`].
pub fn holidays_of_year(y: i32) -> Vec<Holiday> {
    if !(FIRST_YEAR..=LAST_YEAR).contains(&y) {
        return Vec::new();
    }
    let named = named_holidays(y);
    let is_named = |d: NaiveDate| named.iter().any(|h| h.date == d);
    let mut all = named.clone();

    // 振替休日: from 1973-04-12, a national holiday on Sunday makes the next day a
    // holiday; from 2007, the nearest following day that is not a national holiday.
    let substitute_from = ymd(1973, 4, 12);
    let mut substitutes = Vec::new();
    for h in &named {
        if h.date.weekday() != Weekday::Sun || Some(h.date) < substitute_from {
            continue;
        }
        let mut d = h.date.succ_opt();
        if y >= 2007 {
            while let Some(x) = d.filter(|x| is_named(*x)) {
                d = x.succ_opt();
            }
        } else if d.map(is_named).unwrap_or(true) {
            d = None;
        }
        if let Some(d) = d.filter(|d| d.year() == y) {
            substitutes.push(d);
            all.push(Holiday {
                date: d,
                name: SUBSTITUTE,
            });
        }
    }

    // 国民の休日: from 1985-12-27, a day whose previous and next days are both
    // national holidays, itself not one, is a holiday (before 2007 a Sunday or a
    // substitute holiday was excluded; after, such a day is a rest day anyway).
    let citizens_from = ymd(1985, 12, 27);
    for h in &named {
        let (Some(mid), Some(next)) = (
            h.date.succ_opt(),
            h.date.succ_opt().and_then(|d| d.succ_opt()),
        ) else {
            continue;
        };
        if Some(mid) < citizens_from || !is_named(next) || is_named(mid) {
            continue;
        }
        if mid.weekday() == Weekday::Sun || substitutes.contains(&mid) {
            continue;
        }
        all.push(Holiday {
            date: mid,
            name: CITIZENS,
        });
    }
    all.sort_by_key(|h| h.date);
    all.dedup_by_key(|h| h.date);
    all
}
