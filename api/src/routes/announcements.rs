use madoguchi_persistence::announcements::{Announcement, Update};
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
    http::problem::ApiError,
    security::auth::BearerAuth,
    security::principal::Principal,
    service::announcements as svc,
    types::{
        notice_dto, AnnouncementDto, AnnouncementList, CreateAnnouncement, CreateNoticeUpdate,
        UpdateAnnouncement,
    },
};

pub struct AnnouncementsApi;

const LIST: &str = "announcements";

fn dto(p: &Principal, a: Announcement, updates: Vec<Update>) -> AnnouncementDto {
    notice_dto(crate::service::Viewer::of(p), a, updates)
}

#[derive(ApiResponse)]
enum Created {
    #[oai(status = 201)]
    Created(
        Json<AnnouncementDto>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
enum One {
    #[oai(status = 200)]
    Ok(Json<AnnouncementDto>, #[oai(header = "ETag")] String),
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Announcements")]
impl AnnouncementsApi {
    /// Publish an incident notice
    ///
    /// Agent, admin. To every organization, or to `organization_ids`. Each linked
    /// thread (which must belong to the audience) gets the notice as a public reply
    /// in the same transaction.
    #[oai(
        path = "/announcements",
        method = "post",
        operation_id = "createAnnouncement"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<CreateAnnouncement>,
    ) -> Result<Created, ApiError> {
        let b = body.0;
        let (a, u) = svc::publish(
            &state,
            &auth.0,
            svc::NewNotice {
                title: &b.title,
                body: &b.body,
                severity: b.severity.into(),
                status: b.status.into(),
                organization_ids: b.organization_ids,
                thread_numbers: b.thread_numbers.unwrap_or_default(),
            },
        )
        .await?;
        let tag = etag(a.version);
        let loc = format!("/v1/announcements/{}", a.id);
        Ok(Created::Created(Json(dto(&auth.0, a, u)), loc, tag))
    }

    /// List incident notices
    ///
    /// Any signed-in user; customers see those addressed to their organization.
    /// Newest first; `active=true` leaves out resolved ones.
    #[oai(
        path = "/announcements",
        method = "get",
        operation_id = "listAnnouncements"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))] limit: Query<Option<u32>>,
        cursor: Query<Option<String>>,
        active: Query<Option<bool>>,
    ) -> Result<Json<AnnouncementList>, ApiError> {
        let before = cursor::decode_as::<Uuid>(
            &cursor::key_for(&state, &auth.0),
            LIST,
            cursor.0.as_deref(),
        )?;
        let page = svc::list(
            &state,
            &auth.0,
            active.0.unwrap_or(false),
            before,
            cursor::limit(limit.0),
        )
        .await?;
        let next_cursor = cursor::next(&cursor::key_for(&state, &auth.0), LIST, &page, |(a, _)| {
            a.id
        });
        Ok(Json(AnnouncementList {
            items: page
                .items
                .into_iter()
                .map(|(a, updates)| dto(&auth.0, a, updates))
                .collect(),
            next_cursor,
        }))
    }

    /// Read an incident notice with its updates
    ///
    /// Any signed-in user it is addressed to (otherwise 404).
    #[oai(
        path = "/announcements/:id",
        method = "get",
        operation_id = "getAnnouncement"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<One, ApiError> {
        let (a, u) = svc::get(&state, &auth.0, id.0).await?;
        let tag = etag(a.version);
        Ok(One::Ok(Json(dto(&auth.0, a, u)), tag))
    }

    /// Correct an incident notice
    ///
    /// Agent, admin. Title, body, severity; requires `If-Match`. Status changes go
    /// through updates.
    #[oai(
        path = "/announcements/:id",
        method = "patch",
        operation_id = "updateAnnouncement"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: Json<UpdateAnnouncement>,
    ) -> Result<One, ApiError> {
        let b = body.0;
        let (a, u) = svc::edit(
            &state,
            &auth.0,
            id.0,
            if_match.0.as_deref(),
            svc::NoticeChanges {
                title: b.title.as_deref(),
                body: b.body.as_deref(),
                severity: b.severity.map(Into::into),
            },
        )
        .await?;
        let tag = etag(a.version);
        Ok(One::Ok(Json(dto(&auth.0, a, u)), tag))
    }

    /// Post an update
    ///
    /// Agent, admin. A timestamped update, optionally changing the status; posted
    /// to every linked thread that is not closed.
    #[oai(
        path = "/announcements/:id/updates",
        method = "post",
        operation_id = "createAnnouncementUpdate"
    )]
    async fn add_update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<CreateNoticeUpdate>,
    ) -> Result<Created, ApiError> {
        let b = body.0;
        let (a, u) =
            svc::add_update(&state, &auth.0, id.0, &b.body, b.status.map(Into::into)).await?;
        let tag = etag(a.version);
        let loc = format!("/v1/announcements/{}", a.id);
        Ok(Created::Created(Json(dto(&auth.0, a, u)), loc, tag))
    }
}
