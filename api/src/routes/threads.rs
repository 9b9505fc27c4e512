use madoguchi_persistence::board::ThreadFilter;
use poem::web::Data;
use poem_openapi::{
    param::{Header, Path, Query},
    payload::Json,
    ApiResponse, OpenApi,
};
use uuid::Uuid;

use super::ApiTags;
use crate::{
    app::state::AppState,
    http::cursor,
    http::etag::etag,
    http::payload::Serialized,
    http::problem::ApiError,
    security::auth::BearerAuth,
    service::board::{self as svc, ThreadView},
    types::{
        clock_event_dto, post_dto, thread_dto, ClockEventDto, CreatePost, CreateThread, PostDto,
        PostList, PriorityDto, StatusDto, ThreadDto, ThreadList, UpdateThread, VisibilityDto,
    },
};

pub struct ThreadsApi;

const LIST: &str = "threads";
const POSTS: &str = "posts";

/// The list filters shared by `/threads` and `/queue`.
pub(crate) fn thread_filter(
    status: Option<StatusDto>,
    priority: Option<PriorityDto>,
    organization_id: Option<Uuid>,
    assignee_id: Option<Uuid>,
    tag: Option<String>,
) -> ThreadFilter {
    ThreadFilter {
        organization_id,
        statuses: status.map(|s| vec![s.into()]).unwrap_or_default(),
        priority: priority.map(Into::into),
        assignee_id,
        tag,
    }
}

#[derive(ApiResponse)]
enum Created {
    #[oai(status = 201)]
    Created(
        Json<ThreadDto>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
enum One {
    #[oai(status = 200)]
    Ok(Json<ThreadDto>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
enum PostCreated {
    #[oai(status = 201)]
    Created(Json<PostDto>, #[oai(header = "Location")] String),
}

fn one(v: ThreadView, state: &AppState) -> One {
    let tag = etag(v.thread.version);
    One::Ok(Json(thread_dto(v, &state.calendar.get(), state.now())), tag)
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Board")]
impl ThreadsApi {
    /// Open a thread
    ///
    /// Customer (own organization, active contract), agent, admin (naming
    /// `organization_id`). Creates the thread with its first post and starts the
    /// first-response and resolution clocks.
    #[oai(path = "/threads", method = "post", operation_id = "createThread")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<CreateThread>,
    ) -> Result<Created, ApiError> {
        let b = body.0;
        let v = svc::create_thread(
            &state,
            &auth.0,
            svc::NewThread {
                title: &b.title,
                body: &b.body,
                category: b.category.as_deref(),
                priority: b.priority.map(Into::into),
                tags: b
                    .tags
                    .map(|t| t.into_iter().map(|x| x.into_string()).collect()),
                organization_id: b.organization_id,
                follow_up_of: b.follow_up_of,
            },
        )
        .await?;
        let tag = etag(v.thread.version);
        let loc = format!("/v1/threads/{}", v.thread.number);
        Ok(Created::Created(
            Json(thread_dto(v, &state.calendar.get(), state.now())),
            loc,
            tag,
        ))
    }

    /// List threads
    ///
    /// Any signed-in user; customers see their organization's threads only. Newest first.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/threads", method = "get", operation_id = "listThreads")]
    async fn list(
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
        let before =
            cursor::decode_as::<i64>(&cursor::key_for(&state, &auth.0), LIST, cursor.0.as_deref())?;
        let filter = thread_filter(
            status.0,
            priority.0,
            organization_id.0,
            assignee_id.0,
            tag.0,
        );
        let page =
            svc::list_threads(&state, &auth.0, filter, before, cursor::limit(limit.0)).await?;
        let next_cursor = cursor::next(&cursor::key_for(&state, &auth.0), LIST, &page, |v| {
            v.thread.number
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

    /// Read a thread
    ///
    /// Any signed-in user who may see it (another organization's thread is 404).
    /// Includes the SLA clocks: customers see when an answer is due.
    #[oai(path = "/threads/:number", method = "get", operation_id = "getThread")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        number: Path<i64>,
    ) -> Result<One, ApiError> {
        let v = svc::get_thread(&state, &auth.0, number.0).await?;
        Ok(one(v, &state))
    }

    /// Change a thread
    ///
    /// Agent, admin. Status (an illegal change is 409 naming the allowed ones),
    /// priority (re-targets the clocks), assignee, title, category, tags.
    /// Requires `If-Match`.
    #[oai(
        path = "/threads/:number",
        method = "patch",
        operation_id = "updateThread"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        number: Path<i64>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: Json<UpdateThread>,
    ) -> Result<One, ApiError> {
        let b = body.0;
        let v = svc::update_thread(
            &state,
            &auth.0,
            number.0,
            if_match.0.as_deref(),
            svc::ThreadChanges {
                title: b.title.as_deref(),
                category: b.category.as_deref(),
                priority: b.priority.map(Into::into),
                status: b.status.map(Into::into),
                // Absent: leave it; null: clear it.
                assignee_id: b.assignee_id.into(),
                tags: b
                    .tags
                    .map(|t| t.into_iter().map(|x| x.into_string()).collect()),
            },
        )
        .await?;
        Ok(one(v, &state))
    }

    /// The SLA clocks' log
    ///
    /// Any signed-in user who may see the thread: every start, pause, resume, met,
    /// warning and breach with its instant and cause.
    #[oai(
        path = "/threads/:number/sla-events",
        method = "get",
        operation_id = "listSlaEvents"
    )]
    async fn sla_events(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        number: Path<i64>,
    ) -> Result<Json<Vec<ClockEventDto>>, ApiError> {
        let events = svc::clock_log(&state, &auth.0, number.0).await?;
        Ok(Json(events.into_iter().map(clock_event_dto).collect()))
    }

    /// List posts
    ///
    /// Any signed-in user who may see the thread; customers see public posts only.
    /// Oldest first.
    #[oai(
        path = "/threads/:number/posts",
        method = "get",
        operation_id = "listPosts"
    )]
    async fn posts(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        number: Path<i64>,
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))] limit: Query<Option<u32>>,
        cursor: Query<Option<String>>,
    ) -> Result<Json<PostList>, ApiError> {
        let list = format!("{POSTS}:{}", number.0);
        let after = cursor::decode_as::<Uuid>(
            &cursor::key_for(&state, &auth.0),
            &list,
            cursor.0.as_deref(),
        )?;
        let page =
            svc::list_posts(&state, &auth.0, number.0, after, cursor::limit(limit.0)).await?;
        let next_cursor = cursor::next(&cursor::key_for(&state, &auth.0), &list, &page, |p| p.id);
        Ok(Json(PostList {
            items: page
                .items
                .into_iter()
                .map(|p| post_dto(p, number.0))
                .collect(),
            next_cursor,
        }))
    }

    /// Reply on a thread
    ///
    /// Customer (public only, own organization, active contract), agent, admin
    /// (`internal` notes are never shown to customers). A customer's reply reopens
    /// a pending or resolved thread; an agent's public reply meets first response
    /// and next reply. A closed thread takes no posts (409): open a follow-up.
    #[oai(
        path = "/threads/:number/posts",
        method = "post",
        operation_id = "createPost"
    )]
    async fn create_post(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        number: Path<i64>,
        body: Json<CreatePost>,
    ) -> Result<PostCreated, ApiError> {
        let b = body.0;
        let visibility = b.visibility.map(|v| match v {
            VisibilityDto::Public => madoguchi_domain::board::Visibility::Public,
            VisibilityDto::Internal => madoguchi_domain::board::Visibility::Internal,
        });
        let (post, n) = svc::add_post(&state, &auth.0, number.0, &b.body, visibility).await?;
        let loc = format!("/v1/threads/{n}/posts");
        Ok(PostCreated::Created(Json(post_dto(post, n)), loc))
    }
}
