//! Incident notices.

use crate::service::announcements as svc;
use chrono::{DateTime, FixedOffset};
use madoguchi_domain::announcements::{NoticeStatus, Severity};
use madoguchi_domain::time::to_wire;
use madoguchi_persistence::announcements::{Announcement, Update};
use poem_openapi::{Enum, Object};
use uuid::Uuid;

use crate::http::text::Text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SeverityDto {
    Info,
    Minor,
    Major,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum NoticeStatusDto {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl From<madoguchi_domain::announcements::Severity> for SeverityDto {
    fn from(s: madoguchi_domain::announcements::Severity) -> Self {
        use madoguchi_domain::announcements::Severity as S;
        match s {
            S::Info => SeverityDto::Info,
            S::Minor => SeverityDto::Minor,
            S::Major => SeverityDto::Major,
            S::Critical => SeverityDto::Critical,
        }
    }
}

impl From<madoguchi_domain::announcements::NoticeStatus> for NoticeStatusDto {
    fn from(s: madoguchi_domain::announcements::NoticeStatus) -> Self {
        use madoguchi_domain::announcements::NoticeStatus as S;
        match s {
            S::Investigating => NoticeStatusDto::Investigating,
            S::Identified => NoticeStatusDto::Identified,
            S::Monitoring => NoticeStatusDto::Monitoring,
            S::Resolved => NoticeStatusDto::Resolved,
        }
    }
}

impl From<SeverityDto> for madoguchi_domain::announcements::Severity {
    fn from(s: SeverityDto) -> Self {
        use madoguchi_domain::announcements::Severity as S;
        match s {
            SeverityDto::Info => S::Info,
            SeverityDto::Minor => S::Minor,
            SeverityDto::Major => S::Major,
            SeverityDto::Critical => S::Critical,
        }
    }
}

impl From<NoticeStatusDto> for madoguchi_domain::announcements::NoticeStatus {
    fn from(s: NoticeStatusDto) -> Self {
        use madoguchi_domain::announcements::NoticeStatus as S;
        match s {
            NoticeStatusDto::Investigating => S::Investigating,
            NoticeStatusDto::Identified => S::Identified,
            NoticeStatusDto::Monitoring => S::Monitoring,
            NoticeStatusDto::Resolved => S::Resolved,
        }
    }
}

#[derive(Debug, Object)]
pub struct NoticeUpdateDto {
    pub id: Uuid,
    pub body: String,
    /// The status this update set, if any.
    pub status: Option<NoticeStatusDto>,
    pub created_at: DateTime<FixedOffset>,
}

/// An incident notice.
#[derive(Debug, Object)]
pub struct AnnouncementDto {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub severity: SeverityDto,
    pub status: NoticeStatusDto,
    pub active: bool,
    /// Addressed to every organization; otherwise `organization_ids` (staff only).
    pub all_organizations: bool,
    pub organization_ids: Option<Vec<Uuid>>,
    /// Threads the notice concerns (a customer sees only its own
    /// organization's); each update is posted to them as a public reply.
    pub thread_numbers: Vec<i64>,
    /// Every update, oldest first.
    pub updates: Vec<NoticeUpdateDto>,
    pub version: i32,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

#[derive(Debug, Object)]
pub struct AnnouncementList {
    pub items: Vec<AnnouncementDto>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Object)]
pub struct CreateAnnouncement {
    #[oai(validator(max_length = 200))]
    pub title: Text,
    #[oai(validator(max_length = 10000))]
    pub body: Text,
    pub severity: SeverityDto,
    pub status: NoticeStatusDto,
    /// Leave out to address every organization.
    pub organization_ids: Option<Vec<Uuid>>,
    /// Threads the notice concerns; each must belong to the audience.
    pub thread_numbers: Option<Vec<i64>>,
}

#[derive(Debug, Object)]
pub struct UpdateAnnouncement {
    #[oai(validator(max_length = 200))]
    pub title: Option<Text>,
    #[oai(validator(max_length = 10000))]
    pub body: Option<Text>,
    pub severity: Option<SeverityDto>,
}

#[derive(Debug, Object)]
pub struct CreateNoticeUpdate {
    #[oai(validator(max_length = 10000))]
    pub body: Text,
    pub status: Option<NoticeStatusDto>,
}

/// A notice as `v` may read it.
pub fn notice_dto(
    v: crate::service::Viewer,
    a: Announcement,
    updates: Vec<Update>,
) -> AnnouncementDto {
    let organization_ids = svc::visible_audience(v, &a);
    let thread_numbers = svc::visible_threads(v, &a);
    AnnouncementDto {
        id: a.id,
        active: NoticeStatus::parse(&a.status)
            .map(NoticeStatus::is_active)
            .unwrap_or(true),
        title: a.title,
        body: a.body,
        severity: Severity::parse(&a.severity)
            .map(SeverityDto::from)
            .unwrap_or(SeverityDto::Info),
        status: NoticeStatus::parse(&a.status)
            .map(NoticeStatusDto::from)
            .unwrap_or(NoticeStatusDto::Investigating),
        all_organizations: a.all_organizations,
        organization_ids,
        thread_numbers,
        updates: updates
            .into_iter()
            .map(|u| NoticeUpdateDto {
                id: u.id,
                body: u.body,
                status: u
                    .status
                    .as_deref()
                    .and_then(|s| NoticeStatus::parse(s).ok())
                    .map(NoticeStatusDto::from),
                created_at: to_wire(u.created_at),
            })
            .collect(),
        version: a.version,
        created_at: to_wire(a.created_at),
        updated_at: to_wire(a.updated_at),
    }
}
