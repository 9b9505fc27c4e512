//! The board's full-text index: FTS5 on SQLite, tsvector phrases on PostgreSQL.

use sea_orm::{ConnectionTrait, Value};
use uuid::Uuid;

use super::{corrupt, is_pg, stmt};
use crate::error::StoreError;

/// The scope lexemes: on PostgreSQL the database writes them into the index
/// (`search_doc_scope` in migration m0008 spells them the same way).
fn org_token(org: Uuid) -> String {
    format!("zzorg{}", org.simple())
}

const PUBLIC_TOKEN: &str = "zzpublic";

/// A document (a title or a post body) to add to the search index.
#[derive(Debug, Clone, Copy)]
pub struct IndexDoc<'a> {
    pub thread_id: Uuid,
    pub post_id: Option<Uuid>,
    pub organization_id: Uuid,
    pub internal: bool,
    pub tokens: &'a [String],
}

/// Add a document (a title or a post body) to the search index.
pub async fn index_document(
    db: &impl ConnectionTrait,
    thread_id: Uuid,
    post_id: Option<Uuid>,
    organization_id: Uuid,
    internal: bool,
    tokens: &[String],
) -> Result<(), StoreError> {
    index_documents(
        db,
        &[IndexDoc {
            thread_id,
            post_id,
            organization_id,
            internal,
            tokens,
        }],
    )
    .await
}

/// A tsvector literal with explicit positions: phrase search (<->) over our own
/// tokens, independent of any text-search configuration or locale. The database
/// adds the scope lexemes (as in [`fts_text`]) on insert: migration m0008.
fn tsvector_literal(tokens: &[String]) -> String {
    use std::fmt::Write as _;
    let mut lit = String::new();
    for (i, t) in tokens.iter().enumerate().take(16_000) {
        if !lit.is_empty() {
            lit.push(' ');
        }
        lit.push('\'');
        lit.push_str(&t.replace('\\', "\\\\").replace('\'', "''"));
        let _ = write!(lit, "':{}", i + 1);
    }
    lit
}

/// The FTS5 row of a document: its tokens plus the scope tokens a query filters on.
fn fts_text(d: &IndexDoc<'_>) -> String {
    fts_row_text(d.tokens, d.organization_id, d.internal)
}

/// The FTS5 row text of a document with these tokens: erasure gives it back to
/// FTS5's `delete` command, which must see exactly what was inserted.
pub(crate) fn fts_row_text(tokens: &[String], organization_id: Uuid, internal: bool) -> String {
    let mut text = tokens.join(" ");
    text.push(' ');
    text.push_str(&org_token(organization_id));
    if !internal {
        text.push(' ');
        text.push_str(PUBLIC_TOKEN);
    }
    text
}

/// Add documents to the search index: two statements for any number of them.
pub async fn index_documents(
    db: &impl ConnectionTrait,
    docs: &[IndexDoc<'_>],
) -> Result<(), StoreError> {
    use std::fmt::Write as _;
    if docs.is_empty() {
        return Ok(());
    }
    let mut values: Vec<Value> = Vec::with_capacity(docs.len() * 5);
    if is_pg(db) {
        let mut sql = String::from(
            "INSERT INTO search_docs (thread_id, post_id, organization_id, internal, tokens) VALUES ",
        );
        for (i, d) in docs.iter().enumerate() {
            let b = i * 5;
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(
                sql,
                "{sep}(${}, ${}, ${}, ${}, ${}::tsvector)",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5
            );
            values.extend([
                d.thread_id.into(),
                d.post_id.into(),
                d.organization_id.into(),
                d.internal.into(),
                tsvector_literal(d.tokens).into(),
            ]);
        }
        db.execute(stmt(db, &sql, values)).await?;
        return Ok(());
    }
    let mut sql = String::from(
        "INSERT INTO search_docs (thread_id, post_id, organization_id, internal) VALUES ",
    );
    for (i, d) in docs.iter().enumerate() {
        let b = i * 4;
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(sql, "{sep}(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4);
        values.extend([
            d.thread_id.into(),
            d.post_id.into(),
            d.organization_id.into(),
            d.internal.into(),
        ]);
    }
    // RETURNING's order is unspecified: match ids back by (thread, post), which is
    // unique among the documents of one call.
    sql.push_str(" RETURNING id, thread_id, post_id");
    let rows = db.query_all(stmt(db, &sql, values)).await?;
    let mut ids = std::collections::HashMap::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.try_get("", "id")?;
        let thread_id: Uuid = r.try_get("", "thread_id")?;
        let post_id: Option<Uuid> = r.try_get("", "post_id")?;
        ids.insert((thread_id, post_id), id);
    }
    let mut sql = String::from("INSERT INTO search_fts (rowid, tokens) VALUES ");
    let mut values: Vec<Value> = Vec::with_capacity(docs.len() * 2);
    for (i, d) in docs.iter().enumerate() {
        let id = ids
            .get(&(d.thread_id, d.post_id))
            .copied()
            .ok_or_else(|| corrupt("search document id"))?;
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(sql, "{sep}(${}, ${})", i * 2 + 1, i * 2 + 2);
        values.extend([id.into(), fts_text(d).into()]);
    }
    db.execute(stmt(db, &sql, values)).await?;
    Ok(())
}

/// Who is searching: a customer sees their organization's public documents only.
#[derive(Debug, Clone, Copy)]
pub struct SearchScope {
    pub organization_id: Option<Uuid>,
    pub include_internal: bool,
}

#[derive(Debug, Clone)]
pub struct SearchHit {
    pub doc_id: i64,
    pub thread_id: Uuid,
    pub post_id: Option<Uuid>,
}

/// How many of the newest documents PostgreSQL search reads first, and at most
/// next, testing each, before it turns to the GIN index.
const FIRST_WINDOW: u64 = 5_000;
const SCAN_WINDOW: u64 = 50_000;
/// What fetching and re-checking one match through the GIN index costs, in
/// documents tested while reading newest first (measured: ~13 µs against
/// ~0.7 µs on 600,000 documents).
const GIN_MATCH_COST_IN_SCANNED_DOCS: u64 = 20;

/// Whether reading on newest first should find the `missing` matches sooner than
/// the GIN index, given `found` matches among the `scanned` newest documents and
/// about `below` documents left (ids are sequential).
fn scan_on(found: u64, scanned: u64, missing: u64, below: i64) -> bool {
    // Scanning reads about missing / rate documents; the index fetches about
    // rate × below matches. With rate = found / scanned:
    //   missing × scanned / found ≤ COST × found × below / scanned
    let below = u128::try_from(below.max(0)).unwrap_or(0);
    let (found, scanned, missing) = (u128::from(found), u128::from(scanned), u128::from(missing));
    found > 0
        && missing * scanned * scanned
            <= u128::from(GIN_MATCH_COST_IN_SCANNED_DOCS) * found * found * below
}

/// FROM-clause for the `window` newest documents below parameter `$below`: a
/// customer's (organization in parameter `$org`) through the index on
/// (organization, id), so that a clinic's documents are not looked for among
/// every clinic's. The row comparison is what makes PostgreSQL take that index
/// for the order.
fn newest_docs(scope: SearchScope, window: u64, below: usize, org: usize) -> String {
    match scope.organization_id {
        Some(_) => format!(
            "search_docs WHERE organization_id = ${org} AND (organization_id, id) < (${org}, ${below}) \
             ORDER BY organization_id DESC, id DESC LIMIT {window}"
        ),
        None => format!("search_docs WHERE id < ${below} ORDER BY id DESC LIMIT {window}"),
    }
}

/// Documents containing every phrase (each a list of consecutive tokens), newest
/// Search rows (`id`, `thread_id`, `post_id`) as hits.
fn to_hits(rows: Vec<sea_orm::QueryResult>) -> Result<Vec<SearchHit>, StoreError> {
    rows.into_iter()
        .map(|r| {
            Ok(SearchHit {
                doc_id: r.try_get("", "id")?,
                thread_id: r.try_get("", "thread_id")?,
                post_id: r.try_get("", "post_id")?,
            })
        })
        .collect()
}

/// first, before `before`.
pub async fn search(
    db: &crate::Db,
    phrases: &[Vec<String>],
    scope: SearchScope,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<SearchHit>, StoreError> {
    if is_pg(db) {
        // A prepared statement run a sixth time may switch to a generic plan,
        // made without the query's words: PostgreSQL then read every document
        // newest first for two words that never meet (0.5 s, against 6 ms
        // through the index). Searches are planned for their words, every time.
        let tx = sea_orm::TransactionTrait::begin(db).await?;
        tx.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
            .await?;
        let hits = search_in(&tx, phrases, scope, before, limit).await?;
        tx.commit().await?;
        return Ok(hits);
    }
    search_in(db, phrases, scope, before, limit).await
}

async fn search_in(
    db: &impl ConnectionTrait,
    phrases: &[Vec<String>],
    scope: SearchScope,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<SearchHit>, StoreError> {
    let before = before.unwrap_or(i64::MAX);
    if is_pg(db) {
        let mut terms: Vec<String> = phrases
            .iter()
            .map(|p| {
                let inner = p
                    .iter()
                    .map(|t| format!("'{}'", t.replace('\\', "\\\\").replace('\'', "''")))
                    .collect::<Vec<_>>()
                    .join(" <-> ");
                format!("({inner})")
            })
            .collect();
        // The scope is asked twice: as lexemes, so the GIN index returns only what
        // the caller may see, and as columns, which do not depend on the index.
        let mut scope_sql = String::new();
        let mut org_value = None;
        if let Some(org) = scope.organization_id {
            terms.push(format!("'{}'", org_token(org)));
            scope_sql.push_str(" AND organization_id = $3");
            org_value = Some(Value::from(org));
        }
        if !scope.include_internal {
            terms.push(format!("'{PUBLIC_TOKEN}'"));
            scope_sql.push_str(" AND internal = FALSE");
        }
        let mut values: Vec<Value> = vec![terms.join(" & ").into(), before.into()];
        values.extend(org_value);
        // PostgreSQL cannot estimate phrase matches: left to itself it would fetch
        // and sort every match of a common phrase. Two ways to find the newest
        // matches, each cheap where the other is dear: reading documents newest
        // first and testing each (common words are met at once), or the GIN index,
        // which reads each match once however old (rare words). The newest
        // documents are read first; the share of matches among them tells which
        // way finds the rest sooner.
        let mut hits = Vec::new();
        let mut below = before;
        for window in [FIRST_WINDOW, SCAN_WINDOW] {
            let want = limit - hits.len() as u64;
            let recent = format!(
                "SELECT id, thread_id, post_id FROM (SELECT id, thread_id, post_id, tokens, organization_id, internal \
                 FROM {}) r WHERE tokens @@ $1::tsquery{scope_sql} ORDER BY id DESC LIMIT {want}",
                newest_docs(scope, window, 2, 3)
            );
            values[1] = below.into();
            let found = to_hits(db.query_all(stmt(db, &recent, values.clone())).await?)?;
            let found_here = found.len() as u64;
            hits.extend(found);
            if hits.len() as u64 >= limit {
                return Ok(hits);
            }
            let floor_sql = format!(
                "SELECT MIN(id) AS floor, COUNT(*) AS n FROM (SELECT id FROM {}) w",
                newest_docs(scope, window, 1, 2)
            );
            let mut floor_values = vec![Value::from(below)];
            floor_values.extend(values.get(2).cloned());
            let (floor, n): (Option<i64>, i64) =
                match db.query_one(stmt(db, &floor_sql, floor_values)).await? {
                    Some(r) => (r.try_get("", "floor")?, r.try_get("", "n")?),
                    None => (None, 0),
                };
            match floor {
                Some(f) if n as u64 >= window => below = f,
                // Every document has been looked at.
                _ => return Ok(hits),
            }
            // For a customer `below` overstates what is left (other clinics' ids
            // count too), which leans towards reading on: cheap on their index.
            if !scan_on(found_here, window, limit - hits.len() as u64, below) {
                break;
            }
        }
        let floor = below;
        values[1] = floor.into();
        let rest = format!(
            "SELECT id, thread_id, post_id FROM search_docs WHERE tokens @@ $1::tsquery AND id < $2{scope_sql} ORDER BY id DESC LIMIT {}",
            limit - hits.len() as u64
        );
        hits.extend(to_hits(db.query_all(stmt(db, &rest, values)).await?)?);
        Ok(hits)
    } else {
        let mut parts: Vec<String> = phrases
            .iter()
            .map(|p| format!("\"{}\"", p.join(" ").replace('"', "")))
            .collect();
        if let Some(org) = scope.organization_id {
            parts.push(org_token(org));
        }
        if !scope.include_internal {
            parts.push(PUBLIC_TOKEN.to_owned());
        }
        let q = parts.join(" AND ");
        let sql = "SELECT d.id AS id, d.thread_id AS thread_id, d.post_id AS post_id FROM \
                   (SELECT rowid AS rid FROM search_fts WHERE search_fts MATCH $1 AND rowid < $2 ORDER BY rowid DESC LIMIT $3) f \
                   JOIN search_docs d ON d.id = f.rid ORDER BY d.id DESC";
        let rows = db
            .query_all(stmt(
                db,
                sql,
                vec![q.into(), before.into(), (limit as i64).into()],
            ))
            .await?;
        to_hits(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::scan_on;

    // Figures from 600,000 seeded documents, 5,000 newest read, 208 wanted.
    #[test]
    fn a_common_word_is_read_on_newest_first() {
        // 障害 in 1.6 % of documents: 80 seen, ~8,000 more to read.
        assert!(scan_on(80, 5_000, 128, 595_000));
    }

    #[test]
    fn a_rare_combination_goes_to_the_index() {
        // 予約 and 障害 together in 0.1 %: ~200,000 more to read, ~600 matches.
        assert!(!scan_on(5, 5_000, 203, 595_000));
        // A common word one clinic in ten may see: as rare for that caller.
        assert!(!scan_on(8, 5_000, 200, 595_000));
    }

    #[test]
    fn nothing_seen_goes_to_the_index() {
        assert!(!scan_on(0, 5_000, 208, 595_000));
        assert!(!scan_on(0, 5_000, 208, 0));
    }

    #[test]
    fn few_documents_left_are_cheaper_through_the_index() {
        // Half the newest matched, but only a thousand documents remain below.
        assert!(!scan_on(2_500, 5_000, 10_000, 1_000));
        assert!(scan_on(2_500, 5_000, 100, 1_000_000));
    }
}
