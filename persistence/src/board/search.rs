//! The board's full-text index: FTS5 on SQLite, tsvector phrases on PostgreSQL.

use std::collections::HashMap;
use std::sync::Arc;

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

/// The FTS5 row text of a document with these tokens, kept in `fts_text` for
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
    // The FTS5 row's text is kept beside it: a contentless table forgets a row
    // only when told exactly what it was given (a rename, an erasure).
    let texts: Vec<String> = docs.iter().map(fts_text).collect();
    let mut sql = String::from(
        "INSERT INTO search_docs (thread_id, post_id, organization_id, internal, fts_text) VALUES ",
    );
    for (i, d) in docs.iter().enumerate() {
        let b = i * 5;
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(
            sql,
            "{sep}(${}, ${}, ${}, ${}, ${})",
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
            texts[i].clone().into(),
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
        values.extend([id.into(), texts[i].clone().into()]);
    }
    db.execute(stmt(db, &sql, values)).await?;
    Ok(())
}

/// Forget the search documents `filter` selects (a `search_docs` condition on
/// `$1`), exactly as they were indexed: on SQLite each FTS5 row is deleted
/// with the text it was given (kept in `fts_text`, m0021), so no search finds
/// it again (its terms stay in the index's pages under a delete marker until
/// FTS5 merges them; an erasure merges at once); on PostgreSQL the rows go,
/// and their index entries with them at the next vacuum. Answers how many
/// documents were forgotten.
pub(crate) async fn forget_documents(
    db: &impl ConnectionTrait,
    filter: &str,
    key: Value,
) -> Result<u64, StoreError> {
    if !is_pg(db) {
        let rows = db
            .query_all(stmt(
                db,
                &format!("SELECT id, fts_text FROM search_docs WHERE {filter}"),
                vec![key.clone()],
            ))
            .await?;
        for r in rows {
            let id: i64 = r.try_get("", "id")?;
            let text: Option<String> = r.try_get("", "fts_text")?;
            if let Some(text) = text {
                db.execute(stmt(
                    db,
                    "INSERT INTO search_fts (search_fts, rowid, tokens) VALUES ('delete', $1, $2)",
                    vec![id.into(), text.into()],
                ))
                .await?;
            }
        }
    }
    Ok(db
        .execute(stmt(
            db,
            &format!("DELETE FROM search_docs WHERE {filter}"),
            vec![key],
        ))
        .await?
        .rows_affected())
}

/// Replace a thread's title document: the old title (a patient's name an
/// agent removed on purpose) must not be found any more, nor be rebuilt from
/// the index's terms.
pub async fn reindex_title(
    db: &impl ConnectionTrait,
    thread_id: Uuid,
    organization_id: Uuid,
    tokens: &[String],
) -> Result<(), StoreError> {
    forget_documents(db, "thread_id = $1 AND post_id IS NULL", thread_id.into()).await?;
    index_document(db, thread_id, None, organization_id, false, tokens).await
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

/// The lexeme of an organization's documents in an id range, as m0017's
/// trigger writes it: a clinic's range read lists only its own documents.
fn org_bucket_token(org: Uuid, bucket: i64) -> String {
    format!("zzo{}_{bucket}", org.simple())
}

/// How many one-range reads a search may make before it reads everything left
/// through the index at once. One range costs about 0.4–0.6 ms whatever the
/// words; one read of 600,000 documents for two common words about 7 ms in the
/// index plus every match fetched.
const RANGE_READS: u64 = 12;

/// What one range read costs, in matches fetched and tested by the read of
/// everything below: about 1 ms against 6–9 µs a match (statement log and
/// EXPLAIN ANALYZE on 600,000 documents, 12-04).
const MATCHES_PER_READ: u128 = 100;

/// Whether reading range after range should find the `missing` matches within
/// the `reads_left`, given `found` matches among the `covered` newest
/// documents, and more cheaply than one read of the `rest` ids below, which
/// fetches every match there. Less than a range read (the newest, still
/// filling) is no sample: one match more or less in a few hundred documents
/// would decide it. Otherwise words not met at all go to the index at once.
fn walk_on(found: u64, covered: u64, missing: u64, reads_left: u64, rest: u64) -> bool {
    if reads_left == 0 {
        return false;
    }
    if covered < BUCKET as u64 {
        return true;
    }
    if found == 0 {
        return false;
    }
    // The documents still to read at the rate met so far, in ranges.
    let needed_docs = u128::from(missing) * u128::from(covered) / u128::from(found);
    let reads = needed_docs.div_ceil(BUCKET as u128);
    // The matches one read of everything below would fetch, at that rate.
    let matches_below = u128::from(found) * u128::from(rest) / u128::from(covered);
    reads <= u128::from(reads_left) && reads * MATCHES_PER_READ <= matches_below
}

/// The most matches PostgreSQL may expect below for search still to read
/// everything below at once when the newest ranges held none.
///
/// Expecting more, PostgreSQL reads everything below by walking the ids
/// backwards and testing each document until it has the page, sure to meet
/// matches soon; for a word common in older documents but absent from the
/// newest (a product renamed, an incident's word once it is over) that walk
/// crosses every newer document: 28 ms for 障害 after 100,000 new documents
/// without it, against 4 ms before them (12-04). Search reads spans of ranges
/// instead, each twice as wide as the last, through the index: 0.5 ms a range
/// that holds none, and only a span's own matches fetched. Expecting fewer,
/// PostgreSQL asks the index (レセプト 請求, never together: 1 ms), which
/// spans would only slow down.
const FETCH_AT_ONCE: f64 = 1000.0;

/// Whether, with nothing met in the newest full ranges, the next read should
/// be a span of ranges rather than everything below: when the statistics say
/// the tokens the index is asked for are together in `share` of the documents
/// (the product of their shares, as PostgreSQL estimates it), and so in more
/// of the `rest` below than [`FETCH_AT_ONCE`]. Tokens they do not list
/// (share 0) are rare, and one read of everything below finds them.
fn span_on(found: u64, share: f64, rest: u64) -> bool {
    found == 0 && share * rest as f64 > FETCH_AT_ONCE
}

/// The most ranges one span may cover: as many as hold, at the statistics'
/// `share`, the [`FETCH_AT_ONCE`] matches one read may fetch (at least one).
/// Doubling without a bound, the first span to reach older documents where
/// the word is common (FAX, in one document of twelve) fetched 2,458 matches
/// for a page of 88: 19 ms in one read.
fn widest_span(share: f64) -> i64 {
    if share > 0.0 {
        ((FETCH_AT_ONCE / (share * BUCKET as f64)) as i64).max(1)
    } else {
        1
    }
}

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

/// How common each lexeme is, as PostgreSQL's own statistics on the index
/// column say (`pg_stats.most_common_elems`, gathered by ANALYZE): search asks
/// the GIN index for the rarest token of each phrase only (see [`search`]).
/// Kept per application and read again every [`STATS_FOR`]; lexemes the
/// statistics do not list are rarer than any they do. The figures only steer
/// which tokens the index is asked for: every match is tested in full, so a
/// stale or empty table costs time, never a result.
#[derive(Default)]
pub struct LexemeStats {
    cell: std::sync::Mutex<Option<(std::time::Instant, Frequencies)>>,
}

/// Lexeme → the share of documents holding it.
type Frequencies = Arc<HashMap<String, f32>>;

/// How long lexeme frequencies are kept before they are read again. They move
/// only when the table is analyzed (autovacuum, or an operator's ANALYZE).
const STATS_FOR: std::time::Duration = std::time::Duration::from_secs(600);

impl LexemeStats {
    pub fn new() -> Self {
        Self::default()
    }

    async fn current(&self, db: &impl ConnectionTrait) -> Result<Frequencies, StoreError> {
        if let Ok(cell) = self.cell.lock() {
            if let Some((read_at, map)) = cell.as_ref() {
                if read_at.elapsed() < STATS_FOR {
                    return Ok(map.clone());
                }
            }
        }
        let rows = db
            .query_all(stmt(
                db,
                "SELECT u.e AS lexeme, u.f AS freq FROM pg_stats s, \
                 unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS u(e, f) \
                 WHERE s.schemaname = current_schema() AND s.tablename = 'search_docs' AND s.attname = 'tokens'",
                vec![],
            ))
            .await?;
        let mut map = HashMap::with_capacity(rows.len());
        for r in rows {
            let lexeme: Option<String> = r.try_get("", "lexeme")?;
            let freq: Option<f32> = r.try_get("", "freq")?;
            if let (Some(l), Some(f)) = (lexeme, freq) {
                map.insert(l, f);
            }
        }
        let map = Arc::new(map);
        if let Ok(mut cell) = self.cell.lock() {
            *cell = Some((std::time::Instant::now(), map.clone()));
        }
        Ok(map)
    }
}

/// The token of a phrase the index is asked for: the rarest by `freq`
/// (unlisted means rarer than any listed; among equals, the first).
fn rarest<'a>(phrase: &'a [String], freq: &HashMap<String, f32>) -> Option<&'a String> {
    phrase.iter().min_by(|a, b| {
        let fa = freq.get(*a).copied().unwrap_or(0.0);
        let fb = freq.get(*b).copied().unwrap_or(0.0);
        fa.total_cmp(&fb)
    })
}

/// A tsquery operand: the token quoted.
fn ts_operand(t: &str) -> String {
    format!("'{}'", t.replace('\\', "\\\\").replace('\'', "''"))
}

/// Documents containing every phrase (each a list of consecutive tokens), newest
/// first, before `before`.
pub async fn search(
    db: &crate::Db,
    stats: &LexemeStats,
    phrases: &[Vec<String>],
    scope: SearchScope,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<SearchHit>, StoreError> {
    if is_pg(db) {
        let freq = stats.current(db).await?;
        // A prepared statement run a sixth time may switch to a generic plan,
        // made without the query's words: PostgreSQL then read every document
        // newest first for two words that never meet (0.5 s, against 6 ms
        // through the index). Searches are planned for their words, every time.
        let tx = sea_orm::TransactionTrait::begin(db).await?;
        tx.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
            .await?;
        let hits = search_pg(&tx, &freq, phrases, scope, before, limit).await?;
        tx.commit().await?;
        return Ok(hits);
    }
    search_sqlite(db, phrases, scope, before, limit).await
}

async fn search_pg(
    db: &impl ConnectionTrait,
    freq: &HashMap<String, f32>,
    phrases: &[Vec<String>],
    scope: SearchScope,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<SearchHit>, StoreError> {
    if phrases.is_empty() {
        return Ok(Vec::new());
    }
    let before = before.unwrap_or(i64::MAX);
    // What a document must contain: every phrase, its tokens in a row.
    let full = phrases
        .iter()
        .map(|p| {
            let inner = p
                .iter()
                .map(|t| ts_operand(t))
                .collect::<Vec<_>>()
                .join(" <-> ");
            format!("({inner})")
        })
        .collect::<Vec<_>>()
        .join(" & ");
    // What the GIN index is asked for: the rarest token of each phrase, and a
    // clinic's organization. Each lexeme asked costs the decoding of its whole
    // posting list in the part of the index read, and the common ones are long
    // (オンライン資格確認 エラー is twelve lexemes with the scope: 12 ms in the
    // index for a clinic's 237 matches; its two rarest and the organization,
    // with the documents tested in full: 2.3 ms in all). `zzpublic`, in nine documents
    // of ten, narrows nothing: the `internal` column does that on the rows.
    let asked: Vec<&String> = phrases.iter().filter_map(|p| rarest(p, freq)).collect();
    // The share of documents the index returns for the probe, as PostgreSQL
    // estimates it when it plans the read of everything below: the product of
    // its tokens' shares (and the clinic's organization's) in the statistics.
    let share_of = |t: &str| f64::from(freq.get(t).copied().unwrap_or(0.0));
    let mut share: f64 = asked.iter().map(|t| share_of(t)).product();
    if let Some(org) = scope.organization_id {
        share *= share_of(&org_token(org));
    }
    let mut probe: Vec<String> = asked.iter().map(|t| ts_operand(t)).collect();
    probe.sort();
    probe.dedup();
    let probe = probe.join(" & ");
    // The whole index is asked with the clinic's organization; one range with
    // the clinic's share of it (m0017), or every document's (m0016) for staff.
    let mut scope_sql = String::new();
    let mut org_value = None;
    let everything = match scope.organization_id {
        Some(org) => {
            scope_sql.push_str(" AND organization_id = $3");
            org_value = Some(Value::from(org));
            format!("{probe} & '{}'", org_token(org))
        }
        None => probe.clone(),
    };
    // The ranges `low..=high`, newest first, each by its lexeme (a clinic's
    // share of it for a clinic).
    let ranges = |low: i64, high: i64| {
        let lexemes = (low..=high)
            .rev()
            .map(|b| match scope.organization_id {
                Some(org) => format!("'{}'", org_bucket_token(org, b)),
                None => format!("'{}'", bucket_token(b)),
            })
            .collect::<Vec<_>>();
        if lexemes.len() == 1 {
            format!("{probe} & {}", lexemes.join(""))
        } else {
            format!("{probe} & ({})", lexemes.join(" | "))
        }
    };
    if !scope.include_internal {
        scope_sql.push_str(" AND internal = FALSE");
    }
    // A phrase of one token is asked of the index as it is; longer ones are
    // tested in full on each document the index returns (a function call, so
    // that the planner does not hand the whole query to the index again).
    let exact = phrases.iter().all(|p| p.len() <= 1);
    let full_sql = if exact {
        String::new()
    } else {
        let n = if org_value.is_some() { 4 } else { 3 };
        format!(" AND ts_match_vq(tokens, ${n}::tsquery)")
    };
    // The values of a statement: the index's query, the id below which, the
    // organization (a clinic), the whole query (phrases).
    let values = |probe: String, below: i64| {
        let mut v: Vec<Value> = vec![probe.into(), below.into()];
        v.extend(org_value.clone());
        if !exact {
            v.push(full.clone().into());
        }
        v
    };
    // PostgreSQL cannot estimate phrase matches, and GIN knows no order: left
    // to itself it would intersect the words' posting lists over the whole
    // index and fetch every match to keep the newest. Instead, while the rate
    // of matches met says the rest will come soon, the id ranges (m0016) are
    // read newest first, each through the index with its range lexeme (common
    // words: a few ranges). Otherwise (rare words, or a clinic's share of
    // common ones) everything below is read through the index at once.
    let mut hits = Vec::new();
    // The newest range below `before` is read first.
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
    let (mut floor, mut covered) = (newest + 1, 0u64);
    // The newest `want` matches below id $2, in the caller's scope, among the
    // documents the index returns for $1 (a range's, with its lexeme, or
    // everything's).
    let matches = format!(
        "SELECT id, thread_id, post_id FROM search_docs WHERE tokens @@ $1::tsquery AND id < $2{scope_sql}{full_sql}"
    );
    let matches_below = |want: u64| format!("{matches} ORDER BY id DESC LIMIT {want}");
    // The same within ranges, always through the index: every match of the
    // ranges is fetched first, then the newest kept. Asked for the newest
    // directly, PostgreSQL may walk the ids backwards instead when it expects
    // many matches, and a range that holds none (the ids of every range lie
    // below `$2`) sends that walk through every document below: 200 ms for
    // `'id' & ('zzb83' | 'zzb82')` on 700,000 documents, against 1.5 ms this way.
    let matches_in = |want: u64| {
        format!(
            "WITH m AS MATERIALIZED ({matches}) SELECT id, thread_id, post_id FROM m ORDER BY id DESC LIMIT {want}"
        )
    };
    let widest = widest_span(share);
    let (mut reads, mut span) = (0, 1i64);
    while floor > 0 && reads < RANGE_READS {
        let found = hits.len() as u64;
        let rest = u64::try_from(floor).unwrap_or(0);
        if walk_on(found, covered, limit - found, RANGE_READS - reads, rest) {
            span = 1;
        } else if span_on(found, share, rest) {
            span = (span * 2).min(widest);
        } else {
            break;
        }
        let high = (floor - 1) / BUCKET;
        let low = high - span + 1;
        if low <= 0 {
            // The span reaches the bottom: that is the read of everything below.
            break;
        }
        let sql = matches_in(limit - found);
        hits.extend(to_hits(
            db.query_all(stmt(db, &sql, values(ranges(low, high), floor)))
                .await?,
        )?);
        reads += 1;
        if hits.len() as u64 >= limit {
            return Ok(hits);
        }
        let start = low * BUCKET;
        covered += u64::try_from(floor - start).unwrap_or(0);
        floor = start;
    }
    if floor <= 0 {
        return Ok(hits);
    }
    let rest = matches_below(limit - hits.len() as u64);
    hits.extend(to_hits(
        db.query_all(stmt(db, &rest, values(everything, floor)))
            .await?,
    )?);
    Ok(hits)
}

async fn search_sqlite(
    db: &impl ConnectionTrait,
    phrases: &[Vec<String>],
    scope: SearchScope,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<SearchHit>, StoreError> {
    let before = before.unwrap_or(i64::MAX);
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

#[cfg(test)]
mod tests {
    use super::{rarest, span_on, walk_on, widest_span, BUCKET};

    #[test]
    fn the_index_is_asked_for_the_rarest_token_of_a_phrase() {
        let tokens = |s: &[&str]| s.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        // Frequencies as ANALYZE gave them on 600,000 seeded documents.
        let freq = [
            ("イン", 0.060),
            ("ログ", 0.039),
            ("グイ", 0.039),
            ("エラ", 0.091),
        ]
        .into_iter()
        .map(|(t, f)| (t.to_string(), f as f32))
        .collect();
        let login = tokens(&["ログ", "グイ", "イン"]);
        assert_eq!(rarest(&login, &freq).map(String::as_str), Some("ログ"));
        // A token the statistics do not list is rarer than any they do.
        let unlisted = tokens(&["イン", "ンフ", "フラ"]);
        assert_eq!(rarest(&unlisted, &freq).map(String::as_str), Some("ンフ"));
        // No statistics yet (a new database): the first token.
        let none = Default::default();
        assert_eq!(rarest(&login, &none).map(String::as_str), Some("ログ"));
    }

    const B: u64 = BUCKET as u64;
    // The ids below the newest ranges of 600,000.
    const REST: u64 = 590_000;

    // Figures from 600,000 seeded documents, a page asking for 88.
    #[test]
    fn a_common_word_is_read_range_by_range() {
        // ログイン エラー, 0.37 %: about 30 in a range; 58 more wanted.
        assert!(walk_on(30, B, 58, 11, REST));
        // A common word met 80 times in the newest range and its neighbour.
        assert!(walk_on(80, 2 * B, 8, 10, REST));
    }

    #[test]
    fn a_rare_combination_goes_to_the_index() {
        // 予約 and 障害 together, 0.1 %: 2 in three ranges, ~86 wanted.
        assert!(!walk_on(2, 3 * B, 86, 9, REST));
        // A common word one clinic in ten may see: as rare for that caller.
        assert!(!walk_on(1, 2 * B, 87, 10, REST));
    }

    #[test]
    fn a_walk_dearer_than_fetching_every_match_goes_to_the_index() {
        // 予約 障害 for staff: 8 in the newest full range. Ten more ranges
        // would find the 80 missing, but all 576 matches below cost less to
        // fetch in one read than ten range reads.
        assert!(!walk_on(8, B, 80, 11, REST));
        // ログイン エラー at 30 a range walks (above); near the bottom of the
        // index, with little left below, the same rate goes to the index.
        assert!(!walk_on(30, B, 58, 11, 3 * B));
    }

    #[test]
    fn nothing_met_goes_to_the_index_unless_the_range_was_not_full() {
        assert!(!walk_on(0, B, 88, 11, REST));
        assert!(!walk_on(0, 3 * B, 88, 9, REST));
        // The newest range had only a hundred documents so far: no sample yet.
        assert!(walk_on(0, 100, 88, 11, REST));
    }

    #[test]
    fn a_range_not_yet_full_is_no_sample() {
        // A clinic's オンライン資格確認: one match in 500 ids, so about 16 in a
        // range. The newest range held 1,984 ids and one match: at that rate
        // the 87 missing would take 21 ranges, but the next full range decides.
        assert!(walk_on(1, 1_984, 87, 11, REST));
        // After it (16 more met), the rate says five more ranges: walk on.
        assert!(walk_on(17, 1_984 + B, 71, 10, REST));
    }

    // Statistics after ANALYZE of 700,000 documents, the newest 100,000 of
    // which never hold the words (12-04).
    #[test]
    fn a_common_word_absent_from_the_newest_ranges_is_read_in_spans() {
        // 障害, in 1.5 % of the documents: 10,000 expected below.
        assert!(span_on(0, 0.0149, 688_128));
        // Once anything is met, the rate met decides (walk_on).
        assert!(!span_on(3, 0.0149, 688_128));
    }

    #[test]
    fn words_expected_rarely_together_go_to_the_index() {
        // レセプト 請求: 2.2 % each, so 0.05 % together as PostgreSQL counts
        // it, 330 below; in fact never together. The index answers in 1 ms.
        assert!(!span_on(0, 0.0216 * 0.0228, 688_128));
        // A token the statistics do not list.
        assert!(!span_on(0, 0.0, 688_128));
        // A common word near the bottom of the index: little left below.
        assert!(!span_on(0, 0.0149, 60_000));
    }

    #[test]
    fn a_span_holds_about_what_one_read_may_fetch() {
        // 障害: 122 in a range, so eight ranges hold about a thousand.
        assert_eq!(widest_span(0.0149), 8);
        // FAX, in one document of twelve: one range at a time.
        assert_eq!(widest_span(0.0827), 1);
        assert_eq!(widest_span(0.0), 1);
    }

    #[test]
    fn reads_are_bounded() {
        assert!(!walk_on(87, B, 1, 0, REST));
        // Just within, and just beyond, what is left.
        assert!(walk_on(44, B, 44, 1, REST));
        assert!(!walk_on(44, B, 45, 1, REST));
    }
}
