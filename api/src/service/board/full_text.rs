//! Japanese full-text search over what the caller may see.

use super::*;

pub struct Hit {
    pub thread: ThreadRecord,
    pub post_id: Option<Uuid>,
    pub snippet: String,
}

/// Full-text search over titles and bodies the caller may see, optionally of
/// threads in one status. `before` is the cursor the previous page answered
/// (a document id).
pub async fn search_threads(
    state: &AppState,
    p: &Principal,
    q: &str,
    status: Option<ThreadStatus>,
    before: Option<i64>,
    limit: u64,
) -> Result<(Vec<Hit>, Option<i64>), ApiError> {
    authorize(
        state,
        p,
        Role::ANYONE,
        Action::Search,
        Some(Object::kind("thread")),
    )
    .await?;
    if q.chars().count() > 200 {
        return Err(ValidationError::too_long("q", 200).into());
    }
    let Some(query) = search::parse_query(q) else {
        return Err(ValidationError::new(
            "q",
            "give at least two letters or digits in a row (e.g. 予約, FAX)",
        )
        .because(madoguchi_domain::Reason::TooFewLetters)
        .into());
    };
    let scope = if p.role().is_staff() {
        SearchScope {
            organization_id: None,
            include_internal: true,
        }
    } else {
        SearchScope {
            organization_id: p.organization_id().or(Some(Uuid::nil())),
            include_internal: false,
        }
    };
    // Fetch documents in pages until `limit` distinct threads are found that
    // pass the status filter: filtered before the page is cut, so a page is
    // full and its cursor right.
    let mut hits: Vec<(i64, Uuid, Option<Uuid>)> = Vec::new();
    let mut threads: HashMap<Uuid, ThreadRecord> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    let mut cursor = before;
    let mut last_doc = None;
    let mut more = false;
    'fetch: loop {
        let batch = board::search(
            &state.read,
            &state.search_stats,
            &query.phrases,
            scope,
            cursor,
            limit * 4 + 8,
        )
        .await?;
        let full = batch.len() as u64 == limit * 4 + 8;
        cursor = batch.last().map(|h| h.doc_id).or(cursor);
        let fresh: Vec<_> = batch
            .into_iter()
            .filter(|h| seen.insert(h.thread_id))
            .collect();
        let ids: Vec<Uuid> = fresh.iter().map(|h| h.thread_id).collect();
        for t in board::threads_by_ids(&state.read, &ids).await? {
            threads.insert(t.id, t);
        }
        for h in fresh {
            let wanted = threads
                .get(&h.thread_id)
                .is_some_and(|t| status.is_none_or(|s| t.status == s));
            if !wanted {
                continue;
            }
            if hits.len() as u64 == limit {
                more = true;
                break 'fetch;
            }
            hits.push((h.doc_id, h.thread_id, h.post_id));
            last_doc = Some(h.doc_id);
        }
        if !full {
            break;
        }
    }
    let post_ids: Vec<Uuid> = hits.iter().filter_map(|h| h.2).collect();
    let posts: HashMap<Uuid, PostRecord> = board::get_posts(&state.read, &post_ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut out = Vec::new();
    for (_, tid, pid) in hits {
        let Some(t) = threads.get(&tid) else { continue };
        // Defence in depth: never show a customer anything outside their scope.
        if !p
            .actor()
            .may_see_organization(Some(t.organization_id.as_u128()))
        {
            continue;
        }
        let text = match pid.and_then(|id| posts.get(&id)) {
            Some(post) if post.visibility == Visibility::Public || p.role().is_staff() => {
                post.body.as_str()
            }
            Some(_) => continue,
            None => t.title.as_str(),
        };
        out.push(Hit {
            thread: super::seen_by(crate::service::Viewer::of(p), t.clone()),
            post_id: pid,
            snippet: search::snippet(text, &query.needles, 80),
        });
    }
    record(
        &state.db,
        entry(
            state.now(),
            Some(p),
            Action::Search,
            Some(Object::kind("thread")),
            Outcome::Success,
            // Which threads were shown, not the words asked for: a query can
            // hold a patient's name, and the trail keeps nothing erasure must.
            Some(json!({
                "returned": out.len(),
                "threads": out.iter().map(|h| h.thread.number).collect::<Vec<_>>(),
            })),
        ),
    )
    .await?;
    Ok((out, if more { last_doc } else { None }))
}
