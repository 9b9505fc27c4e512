//! `due` and `elapsed` over spans of an hour, a month and 30 years, beside a naive
//! reference that steps day by day through the same rules.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use madoguchi_domain::calendar::{holidays_of_year, BusinessCalendar, CalendarRules};
use madoguchi_domain::time::TOKYO;

struct DayStepper {
    rules: CalendarRules,
    holidays: HashMap<NaiveDate, &'static str>,
}

impl DayStepper {
    fn new() -> Self {
        let holidays = (1955..=2099)
            .flat_map(holidays_of_year)
            .map(|h| (h.date, h.name))
            .collect();
        DayStepper {
            rules: CalendarRules::default(),
            holidays,
        }
    }

    fn open_in_day(&self, date: NaiveDate, from: u32, to: u32) -> u64 {
        self.rules
            .day(date, self.holidays.get(&date).copied())
            .intervals
            .iter()
            .map(|iv| u64::from(iv.end.min(to).saturating_sub(iv.start.max(from))))
            .sum()
    }

    fn elapsed(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> u64 {
        let (la, lb) = (a.with_timezone(&TOKYO), b.with_timezone(&TOKYO));
        let (da, db) = (la.date_naive(), lb.date_naive());
        let sa = la
            .time()
            .signed_duration_since(chrono::NaiveTime::MIN)
            .num_seconds() as u32;
        let sb = lb
            .time()
            .signed_duration_since(chrono::NaiveTime::MIN)
            .num_seconds() as u32;
        if da == db {
            return self.open_in_day(da, sa, sb);
        }
        let mut total = self.open_in_day(da, sa, 86_400);
        let mut d = da.succ_opt().unwrap();
        while d < db {
            total += self.open_in_day(d, 0, 86_400);
            d = d.succ_opt().unwrap();
        }
        total + self.open_in_day(db, 0, sb)
    }

    fn due(&self, t: DateTime<Utc>, n: u64) -> DateTime<Utc> {
        let local = t.with_timezone(&TOKYO);
        let mut d = local.date_naive();
        let mut from = local
            .time()
            .signed_duration_since(chrono::NaiveTime::MIN)
            .num_seconds() as u32;
        let mut left = n;
        loop {
            for iv in self.rules.day(d, self.holidays.get(&d).copied()).intervals {
                if iv.end <= from {
                    continue;
                }
                let start = iv.start.max(from);
                let len = u64::from(iv.end - start);
                if left <= len {
                    let naive = d.and_hms_opt(0, 0, 0).unwrap()
                        + Duration::seconds(i64::from(start) + left as i64);
                    return TOKYO
                        .from_local_datetime(&naive)
                        .unwrap()
                        .with_timezone(&Utc);
                }
                left -= len;
            }
            d = d.succ_opt().unwrap();
            from = 0;
        }
    }
}

fn bench(c: &mut Criterion) {
    let cal = BusinessCalendar::build(CalendarRules::default());
    let stepper = DayStepper::new();
    let t = Utc.with_ymd_and_hms(2026, 11, 25, 2, 13, 7).unwrap();
    let spans = [
        ("1h", Duration::hours(1)),
        ("1month", Duration::days(30)),
        ("30y", Duration::days(365 * 30)),
    ];
    for (name, span) in spans {
        let b = t + span;
        let n = cal.elapsed(t, b).unwrap();
        assert_eq!(stepper.elapsed(t, b), n, "reference agrees on elapsed");
        assert_eq!(
            stepper.due(t, n),
            cal.due(t, n).unwrap(),
            "reference agrees on due"
        );
        let mut g = c.benchmark_group(format!("span_{name}"));
        g.bench_function("elapsed", |x| {
            x.iter(|| cal.elapsed(black_box(t), black_box(b)))
        });
        g.bench_function("due", |x| x.iter(|| cal.due(black_box(t), black_box(n))));
        g.bench_function("elapsed_day_stepping", |x| {
            x.iter(|| stepper.elapsed(black_box(t), black_box(b)))
        });
        g.bench_function("due_day_stepping", |x| {
            x.iter(|| stepper.due(black_box(t), black_box(n)))
        });
        g.finish();
    }
    c.bench_function("build_calendar_1955_2099", |x| {
        x.iter(|| BusinessCalendar::build(black_box(CalendarRules::default())))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
