//! Erasing one organization's personal data in one transaction (the rules are in
//! `madoguchi_domain::erasure`). Rows keep their ids, times and links, so the
//! audit trail, which names only ids, keeps meaning what it meant; the text that
//! identifies people is overwritten, and what exists only to serve that text (the
//! search index, sessions, second factors, cached responses) is deleted.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use madoguchi_domain::erasure::{erased_email, scrub_json, TOMBSTONE};
use sea_orm::{ConnectionTrait, Value};
use uuid::Uuid;

use crate::{
    board::{is_pg, stmt},
    error::StoreError,
};

/// What an erasure changed, table by table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    pub users: u64,
    pub sessions: u64,
    pub recovery_codes: u64,
    pub threads: u64,
    pub tags: u64,
    pub posts: u64,
    pub calls: u64,
    pub search_documents: u64,
    pub events: u64,
    pub webhook_deliveries: u64,
    pub idempotency_records: u64,
    pub api_keys_revoked: u64,
    pub webhooks_disabled: u64,
}

async fn exec(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Result<u64, StoreError> {
    Ok(db.execute(stmt(db, sql, values)).await?.rows_affected())
}

/// Where an erased clinic's disabled subscriptions point: nowhere.
const ERASED_URL: &str = "https://erased.invalid/";

/// The tables an erasure rewrites, where PostgreSQL keeps the old row versions
/// until a vacuum.
const TOUCHED: &[&str] = &[
    "users",
    "sessions",
    "recovery_codes",
    "login_throttle",
    "threads",
    "thread_tags",
    "posts",
    "calls",
    "search_docs",
    "outbox",
    "webhook_deliveries",
    "webhook_attempts",
    "idempotency_keys",
    "api_keys",
    "webhooks",
];

/// After an erasure has committed, make the overwritten text leave the
/// database's files, not only its live rows. SQLite (which zeroes freed
/// content, `secure_delete`) checkpoints its write-ahead log into the file and
/// truncates it. PostgreSQL vacuums the tables the erasure rewrote, so the old
/// row versions and their index entries go; a vacuum cannot remove a version
/// some transaction may still see, so it first waits (up to `wait`) for every
/// transaction that began before the erasure committed. Outside any
/// transaction; on a large database the vacuum takes a while, so callers run
/// it in the background.
///
/// A plain vacuum removes the row versions (no tool that reads rows finds
/// them) but leaves their bytes in the pages' free space until it is reused;
/// `Scrub::Full` rewrites the tables into new files instead (`VACUUM FULL`),
/// which locks each table while it is copied: for a maintenance window
/// (`madoguchi scrub`), not for a request.
pub async fn scrub_files(
    db: &crate::Db,
    wait: std::time::Duration,
    how: Scrub,
) -> Result<(), StoreError> {
    if !is_pg(db) {
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await?;
        return Ok(());
    }
    let started = std::time::Instant::now();
    let committed: DateTime<Utc> = db
        .query_one(stmt(db, "SELECT clock_timestamp() AS t", vec![]))
        .await?
        .ok_or(StoreError::NotFound)?
        .try_get("", "t")?;
    loop {
        let older = db
            .query_one(stmt(
                db,
                "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
                 AND pid <> pg_backend_pid() AND xact_start < $1",
                vec![committed.into()],
            ))
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get::<i64>("", "n")?;
        if older == 0 || started.elapsed() >= wait {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let verb = match how {
        Scrub::Vacuum => "VACUUM",
        Scrub::Full => "VACUUM FULL",
    };
    db.execute_unprepared(&format!("{verb} {}", TOUCHED.join(", ")))
        .await?;
    Ok(())
}

/// How thoroughly [`scrub_files`] works on PostgreSQL (SQLite's is one way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scrub {
    /// Remove the old row versions; the tables stay open.
    Vacuum,
    /// Rewrite the tables into new files; each is locked while it is copied.
    Full,
}

/// Forget the organization's search documents, each exactly as it was
/// indexed (see `board::forget_documents`), and on SQLite merge the index so
/// their terms leave its pages. Answers how many.
pub async fn unindex(db: &impl ConnectionTrait, org: Uuid) -> Result<u64, StoreError> {
    let n = crate::board::forget_documents(db, "organization_id = $1", org.into()).await?;
    if n > 0 && !is_pg(db) {
        // Deleted rows leave their terms in FTS5's segments under a delete
        // marker; merging every segment into one drops them (and
        // `secure_delete` zeroes the pages they were on).
        exec(
            db,
            "INSERT INTO search_fts (search_fts) VALUES ('optimize')",
            vec![],
        )
        .await?;
    }
    Ok(n)
}

/// Erase the organization's people, threads, posts and calls (all but the search
/// index, which [`unindex`] takes first while the text is still there).
pub async fn erase_organization(
    db: &impl ConnectionTrait,
    org: Uuid,
    now: DateTime<Utc>,
) -> Result<Erased, StoreError> {
    let mut out = Erased::default();
    let threads_of_org = "SELECT id FROM threads WHERE organization_id = $1";

    // People: who they were, then the rows that only served them.
    let users = db
        .query_all(stmt(
            db,
            "SELECT id, email FROM users WHERE organization_id = $1 AND email NOT LIKE $2",
            vec![org.into(), "erased-%@erased.invalid".into()],
        ))
        .await?;
    let mut user_ids = Vec::with_capacity(users.len());
    for r in users {
        let id: Uuid = r.try_get("", "id")?;
        let email: String = r.try_get("", "email")?;
        exec(
            db,
            "DELETE FROM login_throttle WHERE key = $1",
            vec![format!("account:{email}").into()],
        )
        .await?;
        let n = exec(
            db,
            "UPDATE users SET email = $1, display_name = $2, password_hash = '!erased', \
             active = $3, totp_secret = NULL, totp_pending_secret = NULL, totp_last_step = NULL, \
             version = version + 1, updated_at = $4 WHERE id = $5",
            vec![
                erased_email(&id.simple().to_string()).into(),
                TOMBSTONE.into(),
                false.into(),
                now.into(),
                id.into(),
            ],
        )
        .await?;
        out.users += n;
        user_ids.push(id);
    }
    let users_of_org = "SELECT id FROM users WHERE organization_id = $1";
    out.sessions = exec(
        db,
        &format!("DELETE FROM sessions WHERE user_id IN ({users_of_org})"),
        vec![org.into()],
    )
    .await?;
    out.recovery_codes = exec(
        db,
        &format!("DELETE FROM recovery_codes WHERE user_id IN ({users_of_org})"),
        vec![org.into()],
    )
    .await?;

    // Integrations bound to the clinic stop acting for it.
    out.api_keys_revoked = exec(
        db,
        "UPDATE api_keys SET revoked_at = $1 WHERE organization_id = $2 AND revoked_at IS NULL",
        vec![now.into(), org.into()],
    )
    .await?;
    out.webhooks_disabled = exec(
        db,
        "UPDATE webhooks SET enabled = $1, disabled_reason = 'organization erased', \
         version = version + 1, updated_at = $2 WHERE organization_id = $3 AND enabled = $4",
        vec![false.into(), now.into(), org.into(), true.into()],
    )
    .await?;
    // What an admin typed about the clinic's integrations: a key's name, a
    // subscription's description and URL (paths and queries carry tokens and
    // names). The rows stay, revoked and disabled, for the trail's ids.
    exec(
        db,
        "UPDATE api_keys SET name = $1 WHERE organization_id = $2 AND name <> $1",
        vec![TOMBSTONE.into(), org.into()],
    )
    .await?;
    exec(
        db,
        "UPDATE webhooks SET url = $1, description = CASE WHEN description IS NULL THEN NULL ELSE $2 END \
         WHERE organization_id = $3 AND url <> $1",
        vec![ERASED_URL.into(), TOMBSTONE.into(), org.into()],
    )
    .await?;

    // The board.
    out.posts = exec(
        db,
        &format!(
            "UPDATE posts SET body = $1, \
             author_name = CASE WHEN author_role = 'customer' THEN $1 ELSE author_name END \
             WHERE body <> $1 AND thread_id IN ({})",
            threads_of_org.replace("$1", "$2")
        ),
        vec![TOMBSTONE.into(), org.into()],
    )
    .await?;
    out.tags = exec(
        db,
        &format!("DELETE FROM thread_tags WHERE thread_id IN ({threads_of_org})"),
        vec![org.into()],
    )
    .await?;
    // Title and category: both free text the clinic typed.
    out.threads = exec(
        db,
        "UPDATE threads SET title = $1, \
         category = CASE WHEN category IS NULL THEN NULL ELSE $1 END \
         WHERE organization_id = $2 AND (title <> $1 OR category <> $1)",
        vec![TOMBSTONE.into(), org.into()],
    )
    .await?;
    out.calls = exec(
        db,
        "UPDATE calls SET caller_name = $1, caller_number = $1, \
         summary = CASE WHEN summary IS NULL THEN NULL ELSE $1 END, \
         version = version + 1, updated_at = $2 WHERE organization_id = $3 AND caller_name <> $1",
        vec![TOMBSTONE.into(), now.into(), org.into()],
    )
    .await?;

    // Events that carried the clinic's text (a new thread's title), and their
    // deliveries: the payload is rewritten, the answers receivers gave dropped.
    let events = db
        .query_all(stmt(
            db,
            "SELECT id, event_id, payload FROM outbox WHERE organization_id = $1",
            vec![org.into()],
        ))
        .await?;
    let mut event_ids = Vec::new();
    for r in events {
        let id: i64 = r.try_get("", "id")?;
        let event_id: Uuid = r.try_get("", "event_id")?;
        let payload: String = r.try_get("", "payload")?;
        // As the dispatcher names deliveries (`webhook-id`).
        event_ids.push(format!("msg_{}", event_id.simple()));
        if let Some(scrubbed) = scrubbed(&payload) {
            exec(
                db,
                "UPDATE outbox SET payload = $1 WHERE id = $2",
                vec![scrubbed.into(), id.into()],
            )
            .await?;
            out.events += 1;
        }
    }
    for chunk in event_ids.chunks(500) {
        let list = placeholders(1, chunk.len());
        let values: Vec<Value> = chunk.iter().map(|s| s.clone().into()).collect();
        let rows = db
            .query_all(stmt(
                db,
                &format!("SELECT id, body FROM webhook_deliveries WHERE event_id IN ({list})"),
                values,
            ))
            .await?;
        for r in rows {
            let id: Uuid = r.try_get("", "id")?;
            let body: String = r.try_get("", "body")?;
            exec(
                db,
                "UPDATE webhook_attempts SET response_excerpt = NULL WHERE delivery_id = $1",
                vec![id.into()],
            )
            .await?;
            if let Some(scrubbed) = scrubbed(&body) {
                exec(
                    db,
                    "UPDATE webhook_deliveries SET body = $1 WHERE id = $2",
                    vec![scrubbed.into(), id.into()],
                )
                .await?;
                out.webhook_deliveries += 1;
            }
        }
    }

    out.idempotency_records = forget_cached_responses(db, org, &user_ids).await?;
    Ok(out)
}

fn scrubbed(json: &str) -> Option<String> {
    let mut v: serde_json::Value = serde_json::from_str(json).ok()?;
    scrub_json(&mut v).then(|| v.to_string())
}

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Idempotency records are the answers of recent writes, kept for a day so a
/// retry gets the same answer. Those of the clinic's people and keys, and any
/// whose answer names the clinic or one of its posts (a staff reply's answer is
/// the post), are deleted: a retry after erasure is answered afresh.
async fn forget_cached_responses(
    db: &impl ConnectionTrait,
    org: Uuid,
    user_ids: &[Uuid],
) -> Result<u64, StoreError> {
    let mut ids: HashSet<String> = HashSet::new();
    ids.insert(org.to_string());
    let posts = db
        .query_all(stmt(
            db,
            "SELECT p.id FROM posts p JOIN threads t ON t.id = p.thread_id WHERE t.organization_id = $1",
            vec![org.into()],
        ))
        .await?;
    for r in posts {
        let id: Uuid = r.try_get("", "id")?;
        ids.insert(id.to_string());
    }
    let mut scopes: HashSet<String> = user_ids.iter().map(|u| format!("user:{u}")).collect();
    let keys = db
        .query_all(stmt(
            db,
            "SELECT secret_hash FROM api_keys WHERE organization_id = $1",
            vec![org.into()],
        ))
        .await?;
    for r in keys {
        // As the idempotency layer scopes a key's requests.
        let hash: String = r.try_get("", "secret_hash")?;
        scopes.insert(format!("user:api_key:{hash}"));
    }
    let rows = db
        .query_all(stmt(
            db,
            "SELECT scope, key, body FROM idempotency_keys",
            vec![],
        ))
        .await?;
    let mut removed = 0;
    for r in rows {
        let scope: String = r.try_get("", "scope")?;
        let key: String = r.try_get("", "key")?;
        let body: Option<Vec<u8>> = r.try_get("", "body")?;
        let names_clinic = body
            .as_deref()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
            .is_some_and(|v| mentions_any(&v, &ids));
        if scopes.contains(&scope) || names_clinic {
            removed += exec(
                db,
                "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2",
                vec![scope.into(), key.into()],
            )
            .await?;
        }
    }
    Ok(removed)
}

fn mentions_any(v: &serde_json::Value, ids: &HashSet<String>) -> bool {
    match v {
        serde_json::Value::String(s) => ids.contains(s),
        serde_json::Value::Array(a) => a.iter().any(|x| mentions_any(x, ids)),
        serde_json::Value::Object(m) => m.values().any(|x| mentions_any(x, ids)),
        _ => false,
    }
}
