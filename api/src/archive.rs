//! A clinic's archive at the end of its contract: one ZIP download, written while
//! it is sent (nothing is assembled in memory or on disk), read from one database
//! snapshot so its files agree with each other.
//!
//! Each `.jsonl` line is one object shaped exactly as the API answers it (the
//! schemas in `/openapi.json`), as the clinic saw it: public posts only, its own
//! view of each thread. `calls.csv` repeats the call log for spreadsheets.

use async_zip::{
    tokio::write::ZipFileWriter, Compression, ZipDateTime, ZipDateTimeBuilder, ZipEntryBuilder,
};
use chrono::{DateTime, Datelike, Timelike, Utc};
use futures_util::{AsyncWriteExt as _, StreamExt as _};
use madoguchi_domain::time::to_wire;
use madoguchi_persistence::{
    announcements,
    audit::NewAuditEvent,
    begin_snapshot, board,
    board::ThreadFilter,
    calls::{self, CallFilter},
    organizations::Organization,
    users::{self, UserFilter},
    Tx,
};
use poem::Body;
use poem_openapi::types::ToJSON;
use serde_json::{json, Value};
use tokio::io::DuplexStream;
use uuid::Uuid;

use crate::{
    app::state::AppState,
    service::{self, board::seen_as, Viewer},
    types::{
        call_dto, clock_event_dto, notice_dto, post_dto, thread_dto, CallDto, OrganizationDto,
        UserDto,
    },
};

type Fail = Box<dyn std::error::Error + Send + Sync>;
type Zip = ZipFileWriter<DuplexStream>;

/// Rows read per query.
const BATCH: u64 = 200;

/// The archive of `org` as a response body. The writing runs on its own task;
/// its end (the counts, or why it stopped) is added to the audit trail as
/// `finished`. A failure part-way ends the body with an error, so the client
/// sees a broken transfer rather than a short archive that looks whole.
pub fn stream(state: AppState, org: Organization, finished: NewAuditEvent) -> Body {
    let (w, r) = tokio::io::duplex(64 * 1024);
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<bool>();
    tokio::spawn(async move {
        let result = write(&state, &org, w).await.map_err(|e| e.to_string());
        let ok = result.is_ok();
        if let Err(e) = &result {
            tracing::warn!(organization = %org.id, error = %e, "export stopped");
        }
        service::contract_end::finish_export(&state, finished, result).await;
        let _ = done_tx.send(ok);
    });
    let tail = futures_util::stream::once(async move {
        match done_rx.await {
            Ok(true) => None,
            _ => Some(Err(std::io::Error::other(
                "the archive could not be completed",
            ))),
        }
    })
    .filter_map(std::future::ready);
    Body::from_bytes_stream(tokio_util::io::ReaderStream::new(r).chain(tail))
}

/// The file name offered for saving: the organization's id and the day (JST).
pub fn file_name(org: &Organization, at: DateTime<Utc>) -> String {
    format!("madoguchi-{}-{}.zip", org.id, to_wire(at).format("%Y%m%d"))
}

/// ZIP keeps wall-clock times without a zone: the clinic's (JST).
fn zip_time(at: DateTime<Utc>) -> ZipDateTime {
    let t = to_wire(at);
    ZipDateTimeBuilder::new()
        .year(t.year())
        .month(t.month())
        .day(t.day())
        .hour(t.hour())
        .minute(t.minute())
        .second(t.second())
        .build()
}

fn entry(name: &str, at: ZipDateTime) -> ZipEntryBuilder {
    ZipEntryBuilder::new(name.to_owned().into(), Compression::Deflate)
        .last_modification_date(at)
        .unix_permissions(0o644)
}

/// One JSON Lines line of an API object.
fn line(out: &mut String, v: &impl ToJSON) {
    if let Some(v) = v.to_json() {
        out.push_str(&v.to_string());
        out.push('\n');
    }
}

/// A `.jsonl` (or `.csv`) member written batch by batch.
struct Member<'a> {
    w: async_zip::tokio::write::EntryStreamWriter<'a, DuplexStream>,
    lines: u64,
}

impl<'a> Member<'a> {
    async fn open(zip: &'a mut Zip, name: &str, at: ZipDateTime) -> Result<Self, Fail> {
        Ok(Member {
            w: zip.write_entry_stream(entry(name, at)).await?,
            lines: 0,
        })
    }

    async fn put(&mut self, text: &str, lines: u64) -> Result<(), Fail> {
        self.w.write_all(text.as_bytes()).await?;
        self.lines += lines;
        Ok(())
    }

    async fn close(self) -> Result<u64, Fail> {
        self.w.close().await?;
        Ok(self.lines)
    }
}

/// A thread of the organization, as later files need it.
struct ThreadRef {
    id: Uuid,
    number: i64,
}

/// Write the archive; answers the line count of each file.
async fn write(state: &AppState, org: &Organization, w: DuplexStream) -> Result<Value, Fail> {
    let tx = begin_snapshot(&state.read).await?;
    let at = state.now();
    let stamp = zip_time(at);
    let mut zip = ZipFileWriter::with_tokio(w);
    let mut counts = serde_json::Map::new();

    let dto = OrganizationDto::from(org.clone());
    let mut text = String::new();
    line(&mut text, &dto);
    zip.write_entry_whole(entry("organization.json", stamp), text.as_bytes())
        .await?;

    counts.insert(
        "users.jsonl".into(),
        users_file(&tx, &mut zip, org.id, stamp).await?.into(),
    );
    let (n, threads_seen) = threads_file(state, &tx, &mut zip, org.id, at, stamp).await?;
    counts.insert("threads.jsonl".into(), n.into());
    counts.insert(
        "posts.jsonl".into(),
        posts_file(&tx, &mut zip, &threads_seen, stamp)
            .await?
            .into(),
    );
    counts.insert(
        "sla_events.jsonl".into(),
        sla_file(&tx, &mut zip, &threads_seen, stamp).await?.into(),
    );
    let calls = calls_files(&tx, &mut zip, org.id, stamp).await?;
    counts.insert("calls.jsonl".into(), calls.into());
    counts.insert("calls.csv".into(), calls.into());
    counts.insert(
        "notices.jsonl".into(),
        notices_file(&tx, &mut zip, org.id, stamp).await?.into(),
    );

    let manifest = json!({
        "format": "madoguchi-organization-archive/1",
        "organization_id": org.id,
        "organization_name": org.name,
        "generated_at": to_wire(at).to_rfc3339(),
        "files": counts.clone(),
        "about": "Each .jsonl line is one JSON object shaped as the API answers it (schemas in /openapi.json: UserDto, ThreadDto, PostDto, ClockEventDto, CallDto, AnnouncementDto), as the organization sees it: public posts only. calls.csv is the call log for spreadsheets (UTF-8 with BOM). Counts are lines per file.",
    });
    let text = serde_json::to_string_pretty(&manifest)?;
    zip.write_entry_whole(entry("manifest.json", stamp), text.as_bytes())
        .await?;
    zip.close().await?;
    tx.rollback().await?;
    Ok(Value::Object(counts))
}

async fn users_file(tx: &Tx, zip: &mut Zip, org: Uuid, at: ZipDateTime) -> Result<u64, Fail> {
    let mut m = Member::open(zip, "users.jsonl", at).await?;
    let filter = UserFilter {
        organization_id: Some(org),
        ..Default::default()
    };
    let mut after = None;
    loop {
        let page = users::list(tx, &filter, after, BATCH).await?;
        after = page.items.last().map(|u| u.id);
        let mut text = String::new();
        let n = page.items.len() as u64;
        for u in page.items {
            line(&mut text, &UserDto::from(u));
        }
        m.put(&text, n).await?;
        if !page.has_more {
            break;
        }
    }
    m.close().await
}

async fn threads_file(
    state: &AppState,
    tx: &Tx,
    zip: &mut Zip,
    org: Uuid,
    now: DateTime<Utc>,
    at: ZipDateTime,
) -> Result<(u64, Vec<ThreadRef>), Fail> {
    let cal = state.calendar.get();
    let viewer = Viewer::Clinic(Some(org));
    let filter = ThreadFilter {
        organization_id: Some(org),
        ..Default::default()
    };
    let mut m = Member::open(zip, "threads.jsonl", at).await?;
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = board::list_threads(tx, &filter, before, BATCH).await?;
        before = page.items.last().map(|(t, _)| t.number);
        let mut text = String::new();
        let n = page.items.len() as u64;
        for (t, sla) in page.items {
            seen.push(ThreadRef {
                id: t.id,
                number: t.number,
            });
            line(&mut text, &thread_dto(seen_as(viewer, t, sla), &cal, now));
        }
        m.put(&text, n).await?;
        if !page.has_more {
            break;
        }
    }
    Ok((m.close().await?, seen))
}

async fn posts_file(
    tx: &Tx,
    zip: &mut Zip,
    threads_seen: &[ThreadRef],
    at: ZipDateTime,
) -> Result<u64, Fail> {
    let mut m = Member::open(zip, "posts.jsonl", at).await?;
    for t in threads_seen {
        let mut after = None;
        loop {
            let page = board::list_posts(tx, t.id, false, after, BATCH).await?;
            after = page.items.last().map(|p| p.id);
            let mut text = String::new();
            let n = page.items.len() as u64;
            for p in page.items {
                line(&mut text, &post_dto(p, t.number));
            }
            m.put(&text, n).await?;
            if !page.has_more {
                break;
            }
        }
    }
    m.close().await
}

async fn sla_file(
    tx: &Tx,
    zip: &mut Zip,
    threads_seen: &[ThreadRef],
    at: ZipDateTime,
) -> Result<u64, Fail> {
    let mut m = Member::open(zip, "sla_events.jsonl", at).await?;
    for t in threads_seen {
        let mut text = String::new();
        let events = board::clock_events(tx, t.id).await?;
        let n = events.len() as u64;
        for e in events {
            // The event alone does not say whose thread it is.
            let mut v = clock_event_dto(e).to_json().unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert("thread_number".into(), t.number.into());
            }
            text.push_str(&v.to_string());
            text.push('\n');
        }
        m.put(&text, n).await?;
    }
    m.close().await
}

/// Both call files: JSON Lines, then the same rows as CSV.
async fn calls_files(tx: &Tx, zip: &mut Zip, org: Uuid, at: ZipDateTime) -> Result<u64, Fail> {
    let filter = CallFilter {
        organization_id: Some(org),
        ..Default::default()
    };
    let mut m = Member::open(zip, "calls.jsonl", at).await?;
    let mut before = None;
    loop {
        let page = calls::list(tx, &filter, before, BATCH).await?;
        before = page.items.last().map(|c| c.id);
        let mut text = String::new();
        let n = page.items.len() as u64;
        for c in page.items {
            line(&mut text, &call_dto(service::calls::view(tx, c).await?));
        }
        m.put(&text, n).await?;
        if !page.has_more {
            break;
        }
    }
    let total = m.close().await?;

    let mut m = Member::open(zip, "calls.csv", at).await?;
    let mut head = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    head.write_record(CSV_HEADER)?;
    let mut text = String::from("\u{feff}");
    text.push_str(std::str::from_utf8(
        &head.into_inner().map_err(|e| e.to_string())?,
    )?);
    m.put(&text, 0).await?;
    let mut before = None;
    loop {
        let page = calls::list(tx, &filter, before, BATCH).await?;
        before = page.items.last().map(|c| c.id);
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        let n = page.items.len() as u64;
        for c in page.items {
            out.write_record(csv_row(&call_dto(service::calls::view(tx, c).await?)))?;
        }
        let bytes = out.into_inner().map_err(|e| e.to_string())?;
        m.put(std::str::from_utf8(&bytes)?, n).await?;
        if !page.has_more {
            break;
        }
    }
    m.close().await?;
    Ok(total)
}

const CSV_HEADER: [&str; 12] = [
    "通話ID",
    "開始",
    "終了",
    "通話秒数",
    "方向",
    "応答",
    "時間外",
    "発信者名",
    "電話番号",
    "対応者ID",
    "要約",
    "スレッド番号",
];

/// A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR, LF) is
/// prefixed with an apostrophe (OWASP's advice on CSV injection): a caller's
/// name or an E.164 number (`+81…`) is shown as written. A Japanese input
/// method types the full-width (＝＋－＠) and small (﹦﹢﹣) forms, which Excel
/// also reads as the start of a formula.
pub(crate) fn cell(s: &str) -> String {
    match s.chars().next() {
        Some(
            '=' | '+' | '-' | '@' | '\t' | '\r' | '\n' | '＝' | '＋' | '－' | '＠' | '﹦' | '﹢'
            | '﹣' | '−',
        ) => format!("'{s}"),
        _ => s.to_owned(),
    }
}

fn csv_row(c: &CallDto) -> Vec<String> {
    let yes_no = |b: bool| if b { "はい" } else { "いいえ" }.to_owned();
    vec![
        c.id.to_string(),
        c.started_at.to_rfc3339(),
        c.ended_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        c.duration_seconds
            .map(|s| s.to_string())
            .unwrap_or_default(),
        match c.direction {
            crate::types::DirectionDto::Inbound => "着信".to_owned(),
            crate::types::DirectionDto::Outbound => "発信".to_owned(),
        },
        yes_no(c.answered),
        yes_no(c.outside_hours),
        cell(&c.caller_name),
        cell(&c.caller_number),
        c.agent_id.map(|a| a.to_string()).unwrap_or_default(),
        cell(c.summary.as_deref().unwrap_or_default()),
        c.thread_number.map(|n| n.to_string()).unwrap_or_default(),
    ]
}

async fn notices_file(tx: &Tx, zip: &mut Zip, org: Uuid, at: ZipDateTime) -> Result<u64, Fail> {
    let viewer = Viewer::Clinic(Some(org));
    let mut m = Member::open(zip, "notices.jsonl", at).await?;
    let mut before = None;
    loop {
        let page = announcements::list(tx, Some(org), false, before, BATCH).await?;
        before = page.items.last().map(|a| a.id);
        let mut text = String::new();
        let n = page.items.len() as u64;
        for a in page.items {
            let updates = announcements::updates(tx, a.id).await?;
            line(&mut text, &notice_dto(viewer, a, updates));
        }
        m.put(&text, n).await?;
        if !page.has_more {
            break;
        }
    }
    m.close().await
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn formula_cells_are_shown_as_written() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("+81364130612"), "'+81364130612");
        assert_eq!(cell("山田 花子"), "山田 花子");
        for formula in [
            "＝HYPERLINK(\"x\")",
            "＋1",
            "－1",
            "＠SUM(A1)",
            "﹦1+1",
            "−1",
        ] {
            assert!(cell(formula).starts_with('\''), "{formula}");
        }
        assert_eq!(cell(""), "");
    }
}
