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

/// Documents per id range on PostgreSQL: the database marks each document
/// with `zzb<id / 8192>` (migration m0016), and search reads one range at a
/// time, newest first.
const BUCKET: i64 = 8192;

/// The lexeme of the id range a document id falls in, as m0016's trigger writes it.
fn bucket_token(bucket: i64) -> String {
    format!("zzb{bucket}")
}

/// How many one-range reads a search may make before it reads everything left
/// through the index at once. One range costs about 0.4–0.6 ms whatever the
/// words; one read of 600,000 documents for two common words about 7 ms in the
/// index plus every match fetched.
const RANGE_READS: u64 = 12;

/// Whether reading range after range should find the `missing` matches within
/// the `reads_left`, given `found` matches among the `covered` newest
/// documents. With no match yet, only a range that was not full (the newest)
/// is no sample: rare words go to the index at once.
fn walk_on(found: u64, covered: u64, missing: u64, reads_left: u64) -> bool {
    if reads_left == 0 {
        return false;
    }
    if found == 0 {
        return covered < BUCKET as u64;
    }
    // The documents still to read at the rate met so far, in ranges.
    let needed_docs = u128::from(missing) * u128::from(covered) / u128::from(found);
    needed_docs.div_ceil(BUCKET as u128) <= u128::from(reads_left)
}

/// How many of a clinic's newest documents PostgreSQL search reads first,
/// testing each: common words are met at once this way.
const FIRST_WINDOW: u64 = 5_000;

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
        let query = terms.join(" & ");
        let mut values: Vec<Value> = vec![query.clone().into(), before.into()];
        values.extend(org_value);
        // PostgreSQL cannot estimate phrase matches, and GIN knows no order: left
        // to itself it would intersect the words' posting lists over the whole
        // index and fetch every match to keep the newest. Three ways instead,
        // each cheap where the others are dear. For a clinic, its newest
        // documents are read first and tested one by one (its common words are
        // met at once; through the GIN index its scope lexemes make every read
        // dear). Then, while the rate of matches met says the rest will come
        // soon, the id ranges below (m0016) are read newest first, each through
        // the index with its range lexeme. Otherwise (rare words) everything
        // below is read through the index at once.
        let mut hits = Vec::new();
        let (mut floor, mut covered) = if scope.organization_id.is_some() {
            let recent = format!(
                "SELECT id, thread_id, post_id FROM (SELECT id, thread_id, post_id, tokens, organization_id, internal \
                 FROM {}) r WHERE tokens @@ $1::tsquery{scope_sql} ORDER BY id DESC LIMIT {limit}",
                newest_docs(scope, FIRST_WINDOW, 2, 3)
            );
            hits.extend(to_hits(
                db.query_all(stmt(db, &recent, values.clone())).await?,
            )?);
            if hits.len() as u64 >= limit {
                return Ok(hits);
            }
            let window_sql = format!(
                "SELECT MIN(id) AS floor, MAX(id) AS top, COUNT(*) AS n FROM (SELECT id FROM {}) w",
                newest_docs(scope, FIRST_WINDOW, 1, 2)
            );
            let mut window_values = vec![Value::from(before)];
            window_values.extend(values.get(2).cloned());
            let (floor, top, n): (Option<i64>, Option<i64>, i64) =
                match db.query_one(stmt(db, &window_sql, window_values)).await? {
                    Some(r) => (
                        r.try_get("", "floor")?,
                        r.try_get("", "top")?,
                        r.try_get("", "n")?,
                    ),
                    None => (None, None, 0),
                };
            let (Some(floor), Some(top)) = (floor, top) else {
                return Ok(hits);
            };
            if (n as u64) < FIRST_WINDOW {
                // Every document the caller may see has been read.
                return Ok(hits);
            }
            // The ids the first read spanned (every clinic's ids in that span):
            // the ranges below are counted the same way.
            (floor, u64::try_from(top + 1 - floor).unwrap_or(0))
        } else {
            // Staff see every document: the newest range is read first.
            let newest: Option<i64> = db
                .query_one(stmt(
                    db,
                    "SELECT MAX(id) AS newest FROM search_docs WHERE id < $1",
                    vec![before.into()],
                ))
                .await?
                .map(|r| r.try_get("", "newest"))
                .transpose()?
                .flatten();
            let Some(newest) = newest else {
                return Ok(hits);
            };
            (newest + 1, 0)
        };
        // The newest `want` matches of query $1 below id $2, in the caller's scope:
        // a range's (with its lexeme in $1) or everything's.
        let matches_below = |want: u64| {
            format!(
                "SELECT id, thread_id, post_id FROM search_docs WHERE tokens @@ $1::tsquery AND id < $2{scope_sql} ORDER BY id DESC LIMIT {want}"
            )
        };
        let mut reads = 0;
        while floor > 0
            && walk_on(
                hits.len() as u64,
                covered,
                limit - hits.len() as u64,
                RANGE_READS - reads,
            )
        {
            let bucket = (floor - 1) / BUCKET;
            values[0] = format!("{query} & '{}'", bucket_token(bucket)).into();
            values[1] = floor.into();
            let sql = matches_below(limit - hits.len() as u64);
            hits.extend(to_hits(
                db.query_all(stmt(db, &sql, values.clone())).await?,
            )?);
            reads += 1;
            if hits.len() as u64 >= limit {
                return Ok(hits);
            }
            let start = bucket * BUCKET;
            covered += u64::try_from(floor - start).unwrap_or(0);
            floor = start;
        }
        if floor <= 0 {
            return Ok(hits);
        }
        values[0] = query.into();
        values[1] = floor.into();
        let rest = matches_below(limit - hits.len() as u64);
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
    use super::{walk_on, BUCKET};

    const B: u64 = BUCKET as u64;

    // Figures from 600,000 seeded documents, a page asking for 88.
    #[test]
    fn a_common_word_is_read_range_by_range() {
        // ログイン エラー, 0.37 %: about 30 in a range; 58 more wanted.
        assert!(walk_on(30, B, 58, 11));
        // A common word met 80 times in the newest range and its neighbour.
        assert!(walk_on(80, 2 * B, 8, 10));
    }

    #[test]
    fn a_rare_combination_goes_to_the_index() {
        // 予約 and 障害 together, 0.1 %: 2 in three ranges, ~86 wanted.
        assert!(!walk_on(2, 3 * B, 86, 9));
        // A common word one clinic in ten may see: as rare for that caller.
        assert!(!walk_on(1, 2 * B, 87, 10));
    }

    #[test]
    fn nothing_met_goes_to_the_index_unless_the_range_was_not_full() {
        assert!(!walk_on(0, B, 88, 11));
        assert!(!walk_on(0, 3 * B, 88, 9));
        // The newest range had only a hundred documents so far: no sample yet.
        assert!(walk_on(0, 100, 88, 11));
    }

    #[test]
    fn reads_are_bounded() {
        assert!(!walk_on(87, B, 1, 0));
        // Just within, and just beyond, what is left.
        assert!(walk_on(44, B, 44, 1));
        assert!(!walk_on(44, B, 45, 1));
    }
}
