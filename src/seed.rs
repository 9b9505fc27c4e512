//! `madoguchi seed`: fill a database with realistic Japanese support traffic for
//! benchmarks. Rows go straight through the repositories, one transaction per
//! thread, which is also the figure to compare the HTTP create rate against.

use std::time::Instant;

use chrono::{Duration, Utc};
use madoguchi_domain::{
    board::{
        search, AuthorRole, Channel, Priority, SlaPolicySet, ThreadSla, ThreadStatus, Visibility,
    },
    calendar::{BusinessCalendar, CalendarRules},
    Action, ContractStatus, OrganizationName,
};
use madoguchi_persistence::{
    begin, board,
    board::{PostRecord, ThreadRecord},
    commit, organizations, Db,
};
use uuid::Uuid;

/// A small deterministic generator (xorshift64*), so seeds are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[(self.next() % xs.len() as u64) as usize]
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const CLINICS: &[&str] = &[
    "さくら内科クリニック",
    "あおば整形外科",
    "みどり歯科医院",
    "ひまわり小児科",
    "つばさ眼科",
    "はなみずき皮膚科",
    "医療法人社団 青空会 青空病院",
    "かえで耳鼻咽喉科",
    "しらかば総合病院",
    "もみじ訪問診療所",
];
const SUBJECTS: &[&str] = &[
    "予約システム",
    "電子カルテ",
    "レセプト",
    "ＦＡＸ送信",
    "ログイン画面",
    "請求書",
    "処方箋の印刷",
    "バックアップ",
    "患者ID",
    "オンライン資格確認",
    "問診票",
    "検査結果の取り込み",
    "院内ネットワーク",
    "ﾌﾟﾘﾝﾀｰ設定",
    "会計画面",
];
const PROBLEMS: &[&str] = &[
    "にログインできません",
    "が表示されません",
    "でエラーが発生します",
    "が遅くて使えません",
    "の設定方法を教えてください",
    "が途中で止まります",
    "の文字が化けます",
    "が二重に登録されました",
    "の障害でしょうか",
    "の操作手順を確認したいです",
];
const DETAILS: &[&str] = &[
    "本日午前9時ごろから症状が出ています。",
    "受付の端末だけで発生しており、診察室の端末では問題ありません。",
    "再起動を試しましたが改善しませんでした。",
    "エラーコードはE-1024と表示されています。",
    "患者さんをお待たせしているため、至急ご対応をお願いします。",
    "先週のアップデート以降に起きるようになりました。",
    "ユーザーIDとパスワードは正しく入力しています。",
    "FAXの送信履歴には残っていますが、先方に届いていないようです。",
];
const REPLIES: &[&str] = &[
    "お問い合わせありがとうございます。確認いたしますので少々お待ちください。",
    "恐れ入りますが、発生時刻と操作手順を教えていただけますでしょうか。",
    "サーバー側の設定を修正いたしました。再度お試しください。",
    "ご不便をおかけして申し訳ございません。現在調査中です。",
    "復旧を確認いたしました。引き続きよろしくお願いいたします。",
];
const NOTES: &[&str] = &[
    "社内メモ：開発チームに確認依頼済み",
    "社内メモ：同様の問い合わせが3件あり",
    "社内メモ：次回リリースで修正予定",
];

pub struct SeedReport {
    pub threads: u64,
    pub posts: u64,
    pub seconds: f64,
}

/// Create `threads` threads (each with `posts` posts, some internal) across a
/// handful of clinics.
pub async fn seed(db: &Db, threads: u64, posts: u64) -> Result<SeedReport, String> {
    let e = |e: madoguchi_persistence::StoreError| e.to_string();
    let cal = BusinessCalendar::build(CalendarRules::default());
    let policies = SlaPolicySet::default();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let now = Utc::now();
    let mut orgs = Vec::new();
    for name in CLINICS {
        let n = OrganizationName::parse(name).map_err(|e| e.to_string())?;
        orgs.push(
            organizations::insert(db, &n, ContractStatus::Active, now)
                .await
                .map_err(e)?
                .id,
        );
    }
    let started = Instant::now();
    let mut post_total = 0;
    for i in 0..threads {
        let org = orgs[(rng.below(orgs.len() as u64)) as usize];
        let created = now - Duration::minutes(rng.below(60 * 24 * 30) as i64);
        let priority = [
            Priority::Low,
            Priority::Normal,
            Priority::Normal,
            Priority::High,
            Priority::Urgent,
        ][rng.below(5) as usize];
        let title = format!("{}{}", rng.pick(SUBJECTS), rng.pick(PROBLEMS));
        let (mut sla, mut events) = ThreadSla::open(policies.get(priority), created, &cal, 750)
            .map_err(|e| e.to_string())?;
        // As if the sweeper had kept up: past warnings and breaches are recorded.
        events.extend(sla.fire_due(now, &cal));
        let (due, breached) = sla.urgency(now);
        let tx = begin(db).await.map_err(e)?;
        let number = board::next_number(&tx).await.map_err(e)?;
        let status = if rng.below(10) < 8 {
            ThreadStatus::Open
        } else {
            ThreadStatus::New
        };
        let mut t = ThreadRecord {
            id: Uuid::now_v7(),
            number,
            organization_id: org,
            title,
            category: Some(rng.pick(SUBJECTS).to_owned()),
            priority,
            status,
            channel: Channel::Board,
            assignee_id: None,
            created_by: None,
            follow_up_of: None,
            policy: policies,
            tags: vec![],
            post_count: 0,
            public_post_count: 0,
            last_public_post_at: None,
            last_public_by_staff: false,
            next_due_at: due,
            breached,
            version: 1,
            created_at: created,
            updated_at: created,
            public_version: 1,
            public_updated_at: created,
        };
        board::insert_thread(&tx, &t).await.map_err(e)?;
        board::index_document(
            &tx,
            t.id,
            None,
            org,
            false,
            &search::document_tokens(&t.title, 16_000),
        )
        .await
        .map_err(e)?;
        for k in 0..posts {
            let internal = k > 0 && rng.below(6) == 0;
            let (body, role) = if k == 0 {
                (
                    format!(
                        "{}{}{}",
                        rng.pick(DETAILS),
                        rng.pick(DETAILS),
                        rng.pick(SUBJECTS)
                    ),
                    AuthorRole::Customer,
                )
            } else if internal {
                (rng.pick(NOTES).to_owned(), AuthorRole::Agent)
            } else if k % 2 == 1 {
                (rng.pick(REPLIES).to_owned(), AuthorRole::Agent)
            } else {
                (rng.pick(DETAILS).to_owned(), AuthorRole::Customer)
            };
            let p = PostRecord {
                id: Uuid::now_v7(),
                thread_id: t.id,
                author_id: None,
                author_name: if role == AuthorRole::Agent {
                    "サポート担当 佐藤".into()
                } else {
                    "受付 田中".into()
                },
                author_role: role,
                visibility: if internal {
                    Visibility::Internal
                } else {
                    Visibility::Public
                },
                body,
                created_at: created + Duration::minutes(k as i64 * 7),
            };
            board::insert_post(&tx, &p).await.map_err(e)?;
            board::index_document(
                &tx,
                t.id,
                Some(p.id),
                org,
                internal,
                &search::document_tokens(&p.body, 16_000),
            )
            .await
            .map_err(e)?;
            t.post_count += 1;
            if !internal {
                t.public_post_count += 1;
            }
        }
        let v = t.version;
        board::update_thread(&tx, &mut t, v).await.map_err(e)?;
        board::save_sla(&tx, t.id, &sla).await.map_err(e)?;
        board::append_clock_events(&tx, t.id, &events)
            .await
            .map_err(e)?;
        commit(tx).await.map_err(e)?;
        post_total += posts;
        if (i + 1) % 10_000 == 0 {
            eprintln!(
                "  {} threads, {:.0} threads/s",
                i + 1,
                (i + 1) as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // A bulk load leaves the planner without statistics until autovacuum
    // (which may be off) gets to it: PostgreSQL then scanned all 200,000
    // clocks for a queue page's 100 (16 ms instead of 0.2).
    madoguchi_persistence::analyze(db).await.map_err(e)?;
    Ok(SeedReport {
        threads,
        posts: post_total,
        seconds,
    })
}

/// Append `n` realistic audit entries (reads and writes by staff), chained, in
/// batches: for benchmarking verify and export.
pub async fn seed_audit(db: &Db, n: u64) -> Result<f64, String> {
    use madoguchi_persistence::audit::{append_batch, NewAuditEvent, Outcome};
    let e = |e: madoguchi_persistence::StoreError| e.to_string();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let started = Instant::now();
    let actions = [
        Action::ThreadRead,
        Action::PostCreate,
        Action::Search,
        Action::UserRead,
        Action::ThreadUpdate,
        Action::CallRead,
    ];
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(500);
        let tx = begin(db).await.map_err(e)?;
        let events = (0..batch)
            .map(|i| NewAuditEvent {
                occurred_at: Utc::now(),
                actor_type: "user",
                actor_id: Some(Uuid::now_v7().to_string()),
                action: rng.pick(&actions).as_str().to_owned(),
                object_type: Some("thread"),
                object_id: Some((done + i).to_string()),
                ip: Some(format!("10.0.{}.{}", rng.below(255), rng.below(255))),
                outcome: Outcome::Success,
                request_id: Some(Uuid::new_v4().to_string()),
                detail: Some(serde_json::json!({"q": rng.pick(SUBJECTS)})),
            })
            .collect();
        append_batch(&tx, events).await.map_err(e)?;
        commit(tx).await.map_err(e)?;
        done += batch;
    }
    Ok(started.elapsed().as_secs_f64())
}
