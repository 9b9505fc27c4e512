use madoguchi_persistence::board::queue_key;
use poem::web::Data;
use poem_openapi::{param::Query, payload::Json, OpenApi};
use uuid::Uuid;

use super::{threads::thread_filter, ApiTags};
use crate::{
    app::state::AppState,
    http::cursor,
    http::payload::Serialized,
    http::problem::ApiError,
    security::auth::BearerAuth,
    service::board as svc,
    types::thread_dto,
    types::{PriorityDto, SearchItem, SearchResults, StatusDto, ThreadList},
};

pub struct QueueApi;

const QUEUE: &str = "queue";
const SEARCH: &str = "search";

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Board")]
impl QueueApi {
    /// The work queue
    ///
    /// Agent, admin. Open work (`new` and `open` unless `status` says otherwise),
    /// breached first, then by the nearest SLA due time. The order rests on stored
    /// due times, so paging stays consistent while the clocks tick.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/queue", method = "get", operation_id = "queue")]
    async fn queue(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))] limit: Query<Option<u32>>,
        cursor: Query<Option<String>>,
        status: Query<Option<StatusDto>>,
        priority: Query<Option<PriorityDto>>,
        organization_id: Query<Option<Uuid>>,
        assignee_id: Query<Option<Uuid>>,
        #[oai(validator(max_length = 30))] tag: Query<Option<String>>,
    ) -> Result<Serialized<ThreadList>, ApiError> {
        let after = cursor::decode_as(
            &cursor::key_for(&state, &auth.0),
            QUEUE,
            cursor.0.as_deref(),
        )?;
        let filter = thread_filter(
            status.0,
            priority.0,
            organization_id.0,
            assignee_id.0,
            tag.0,
        );
        let page = svc::queue(&state, &auth.0, filter, after, cursor::limit(limit.0)).await?;
        let next_cursor = cursor::next(&cursor::key_for(&state, &auth.0), QUEUE, &page, |v| {
            queue_key(&v.thread)
        });
        let cal = state.calendar.get();
        Ok(Serialized(ThreadList {
            items: page
                .items
                .into_iter()
                .map(|v| thread_dto(v, &cal, state.now()))
                .collect(),
            next_cursor,
        }))
    }

    /// Search threads and posts
    ///
    /// Any signed-in user, within what they may see (customers: their
    /// organization's public posts). Finds Japanese words of two characters or more
    /// inside unspaced text; full- and half-width forms match alike. Newest first.
    #[oai(path = "/search", method = "get", operation_id = "search")]
    async fn search(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Words to find, e.g. `予約 障害` (all must occur).
        #[oai(validator(max_length = 200))]
        q: Query<String>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
        cursor: Query<Option<String>>,
    ) -> Result<Json<SearchResults>, ApiError> {
        let list = format!("{SEARCH}:{}", q.0);
        let before = cursor::decode_as::<i64>(
            &cursor::key_for(&state, &auth.0),
            &list,
            cursor.0.as_deref(),
        )?;
        let limit = u64::from(limit.0.unwrap_or(20).clamp(1, 100));
        let (hits, next) = svc::search_threads(&state, &auth.0, &q.0, None, before, limit).await?;
        Ok(Json(SearchResults {
            items: hits
                .into_iter()
                .map(|h| SearchItem {
                    number: h.thread.number,
                    title: h.thread.title,
                    status: h.thread.status.into(),
                    snippet: h.snippet,
                    matched: if h.post_id.is_some() { "post" } else { "title" }.to_owned(),
                    post_id: h.post_id,
                })
                .collect(),
            next_cursor: next
                .map(|d| cursor::encode_as(&cursor::key_for(&state, &auth.0), &list, &d)),
        }))
    }
}
