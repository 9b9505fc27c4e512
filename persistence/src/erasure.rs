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

/// A search document as it was indexed: SQLite's contentless FTS5 table can only
/// forget a row when told the text it was given.
#[derive(Debug, Clone)]
pub struct IndexedDoc {
    pub id: i64,
    pub organization_id: Uuid,
    pub internal: bool,
    pub text: String,
}

async fn exec(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Result<u64, StoreError> {
    Ok(db.execute(stmt(db, sql, values)).await?.rows_affected())
}

/// The organization's search documents with the text each was made from (the
/// thread's title, or the post's body).
pub async fn indexed_documents(
    db: &impl ConnectionTrait,
    org: Uuid,
) -> Result<Vec<IndexedDoc>, StoreError> {
    let rows = db
        .query_all(stmt(
            db,
            "SELECT d.id, d.internal, COALESCE(p.body, t.title) AS text \
             FROM search_docs d JOIN threads t ON t.id = d.thread_id \
             LEFT JOIN posts p ON p.id = d.post_id \
             WHERE d.organization_id = $1 ORDER BY d.id",
            vec![org.into()],
        ))
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(IndexedDoc {
                id: r.try_get("", "id")?,
                organization_id: org,
                internal: r.try_get("", "internal")?,
                text: r.try_get("", "text")?,
            })
        })
        .collect()
}

/// Forget documents: on SQLite each FTS5 row is deleted with the tokens it was
/// indexed with (`fts_text` gives them, from the caller's tokenizer), and the
/// index is then merged so the deleted terms leave its pages too.
pub async fn unindex(
    db: &impl ConnectionTrait,
    org: Uuid,
    docs: &[(IndexedDoc, Vec<String>)],
) -> Result<u64, StoreError> {
    if !is_pg(db) {
        for (d, tokens) in docs {
            let text = crate::board::fts_row_text(tokens, d.organization_id, d.internal);
            exec(
                db,
                "INSERT INTO search_fts (search_fts, rowid, tokens) VALUES ('delete', $1, $2)",
                vec![d.id.into(), text.into()],
            )
            .await?;
        }
        if !docs.is_empty() {
            exec(
                db,
                "INSERT INTO search_fts (search_fts) VALUES ('optimize')",
                vec![],
            )
            .await?;
        }
    }
    exec(
        db,
        "DELETE FROM search_docs WHERE organization_id = $1",
        vec![org.into()],
    )
    .await
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
    out.threads = exec(
        db,
        "UPDATE threads SET title = $1 WHERE organization_id = $2 AND title <> $1",
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
