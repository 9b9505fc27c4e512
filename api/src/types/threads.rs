//! Threads, posts, their SLA clocks and search: the board.

use crate::service::board::ThreadView;
use chrono::Utc;
use chrono::{DateTime, FixedOffset};
use madoguchi_domain::{
    board::{ClockEvent, ClockView, ThreadSla},
    calendar::BusinessCalendar,
    time::to_wire,
};
use madoguchi_persistence::board::PostRecord;
use poem_openapi::{types::MaybeUndefined, Enum, Object};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    http::payload::{rfc3339, rfc3339_opt},
    http::text::Text,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum PriorityDto {
    Low,
    Normal,
    High,
    Urgent,
}

impl From<PriorityDto> for madoguchi_domain::board::Priority {
    fn from(p: PriorityDto) -> Self {
        use madoguchi_domain::board::Priority as P;
        match p {
            PriorityDto::Low => P::Low,
            PriorityDto::Normal => P::Normal,
            PriorityDto::High => P::High,
            PriorityDto::Urgent => P::Urgent,
        }
    }
}

impl From<madoguchi_domain::board::Priority> for PriorityDto {
    fn from(p: madoguchi_domain::board::Priority) -> Self {
        use madoguchi_domain::board::Priority as P;
        match p {
            P::Low => PriorityDto::Low,
            P::Normal => PriorityDto::Normal,
            P::High => PriorityDto::High,
            P::Urgent => PriorityDto::Urgent,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum StatusDto {
    New,
    Open,
    Pending,
    Resolved,
    Closed,
}

impl From<StatusDto> for madoguchi_domain::board::ThreadStatus {
    fn from(s: StatusDto) -> Self {
        use madoguchi_domain::board::ThreadStatus as S;
        match s {
            StatusDto::New => S::New,
            StatusDto::Open => S::Open,
            StatusDto::Pending => S::Pending,
            StatusDto::Resolved => S::Resolved,
            StatusDto::Closed => S::Closed,
        }
    }
}

impl From<madoguchi_domain::board::ThreadStatus> for StatusDto {
    fn from(s: madoguchi_domain::board::ThreadStatus) -> Self {
        use madoguchi_domain::board::ThreadStatus as S;
        match s {
            S::New => StatusDto::New,
            S::Open => StatusDto::Open,
            S::Pending => StatusDto::Pending,
            S::Resolved => StatusDto::Resolved,
            S::Closed => StatusDto::Closed,
        }
    }
}

/// Who wrote a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AuthorRoleDto {
    Customer,
    Agent,
    Admin,
    System,
}

impl From<madoguchi_domain::board::AuthorRole> for AuthorRoleDto {
    fn from(r: madoguchi_domain::board::AuthorRole) -> Self {
        use madoguchi_domain::board::AuthorRole as A;
        match r {
            A::Customer => AuthorRoleDto::Customer,
            A::Agent => AuthorRoleDto::Agent,
            A::Admin => AuthorRoleDto::Admin,
            A::System => AuthorRoleDto::System,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum VisibilityDto {
    Public,
    Internal,
}

/// A clock's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ClockStateDto {
    Running,
    Paused,
    Met,
    Breached,
}

impl From<madoguchi_domain::board::ClockState> for ClockStateDto {
    fn from(s: madoguchi_domain::board::ClockState) -> Self {
        use madoguchi_domain::board::ClockState as S;
        match s {
            S::Running => ClockStateDto::Running,
            S::Paused => ClockStateDto::Paused,
            S::Met => ClockStateDto::Met,
            S::Breached => ClockStateDto::Breached,
        }
    }
}

/// Where a thread came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ChannelDto {
    Board,
    Phone,
    Api,
}

impl From<madoguchi_domain::board::Channel> for ChannelDto {
    fn from(c: madoguchi_domain::board::Channel) -> Self {
        use madoguchi_domain::board::Channel as C;
        match c {
            C::Board => ChannelDto::Board,
            C::Phone => ChannelDto::Phone,
            C::Api => ChannelDto::Api,
        }
    }
}

/// Which of a thread's clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ClockKindDto {
    FirstResponse,
    NextReply,
    Resolution,
}

impl From<madoguchi_domain::board::ClockKind> for ClockKindDto {
    fn from(k: madoguchi_domain::board::ClockKind) -> Self {
        use madoguchi_domain::board::ClockKind as K;
        match k {
            K::FirstResponse => ClockKindDto::FirstResponse,
            K::NextReply => ClockKindDto::NextReply,
            K::Resolution => ClockKindDto::Resolution,
        }
    }
}

/// What happened to a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ClockEventKindDto {
    Start,
    Pause,
    Resume,
    Met,
    Warning,
    Breach,
    Retarget,
    Reproject,
}

impl From<madoguchi_domain::board::ClockEventKind> for ClockEventKindDto {
    fn from(k: madoguchi_domain::board::ClockEventKind) -> Self {
        use madoguchi_domain::board::ClockEventKind as K;
        match k {
            K::Start => ClockEventKindDto::Start,
            K::Pause => ClockEventKindDto::Pause,
            K::Resume => ClockEventKindDto::Resume,
            K::Met => ClockEventKindDto::Met,
            K::Warning => ClockEventKindDto::Warning,
            K::Breach => ClockEventKindDto::Breach,
            K::Retarget => ClockEventKindDto::Retarget,
            K::Reproject => ClockEventKindDto::Reproject,
        }
    }
}

/// One SLA clock as of the response.
#[derive(Debug, Object, Serialize)]
pub struct ClockDto {
    pub target_minutes: u32,
    /// When the goal is due; null when paused or met.
    #[serde(serialize_with = "rfc3339_opt")]
    pub due_at: Option<DateTime<FixedOffset>>,
    pub state: ClockStateDto,
    /// Business seconds used so far.
    pub used_seconds: u64,
    pub remaining_seconds: u64,
    #[serde(serialize_with = "rfc3339_opt")]
    pub met_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Object, Serialize)]
pub struct SlaDto {
    pub first_response: ClockDto,
    /// Null until a customer writes after an agent's answer.
    pub next_reply: Option<ClockDto>,
    pub resolution: ClockDto,
}

// Written with serde on the big pages (`crate::payload::Serialized`): its
// `Serialize` derive must write what its `Object` derive documents (the test
// at the end of this file checks).
/// A support thread.
#[derive(Debug, Object, Serialize)]
pub struct ThreadDto {
    /// Human-friendly, sequential.
    pub number: i64,
    pub organization_id: Uuid,
    pub title: String,
    pub category: Option<String>,
    pub priority: PriorityDto,
    pub status: StatusDto,
    pub channel: ChannelDto,
    pub assignee_id: Option<Uuid>,
    pub tags: Vec<String>,
    pub created_by: Option<Uuid>,
    /// The closed thread this one follows up.
    pub follow_up_of: Option<i64>,
    /// Posts the caller can see.
    pub post_count: i32,
    #[serde(serialize_with = "rfc3339_opt")]
    pub last_public_post_at: Option<DateTime<FixedOffset>>,
    /// Any clock breached.
    pub breached: bool,
    pub sla: SlaDto,
    /// What `ETag` carries. A customer's moves only with what they can see:
    /// an internal note changes staff's version, not theirs.
    pub version: i32,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<FixedOffset>,
    /// The last change the caller can see (for a customer, internal notes
    /// do not count).
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: DateTime<FixedOffset>,
}

#[derive(Debug, Object, Serialize)]
pub struct ThreadList {
    pub items: Vec<ThreadDto>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Object)]
pub struct CreateThread {
    /// 1 to 200 characters, one line.
    #[oai(validator(max_length = 200))]
    pub title: Text,
    /// The first post: 1 to 10 000 characters.
    #[oai(validator(max_length = 10000))]
    pub body: Text,
    #[oai(validator(max_length = 50))]
    pub category: Option<Text>,
    /// Defaults to `normal`.
    pub priority: Option<PriorityDto>,
    /// Up to 10 tags of up to 30 characters.
    pub tags: Option<Vec<Text>>,
    /// Staff only, required for them: the organization the thread belongs to.
    pub organization_id: Option<Uuid>,
    /// The number of a closed thread this follows up.
    pub follow_up_of: Option<i64>,
}

#[derive(Debug, Object)]
pub struct UpdateThread {
    #[oai(validator(max_length = 200))]
    pub title: Option<Text>,
    #[oai(validator(max_length = 50))]
    pub category: Option<Text>,
    pub priority: Option<PriorityDto>,
    pub status: Option<StatusDto>,
    /// An agent or admin; null unassigns.
    pub assignee_id: MaybeUndefined<Uuid>,
    pub tags: Option<Vec<Text>>,
}

/// A post on a thread.
#[derive(Debug, Object)]
pub struct PostDto {
    pub id: Uuid,
    pub thread_number: i64,
    pub author_id: Option<Uuid>,
    pub author_name: String,
    /// `system` for what the window itself posted (a notice's update).
    pub author_role: AuthorRoleDto,
    pub visibility: VisibilityDto,
    pub body: String,
    pub created_at: DateTime<FixedOffset>,
}

#[derive(Debug, Object)]
pub struct PostList {
    pub items: Vec<PostDto>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Object)]
pub struct CreatePost {
    /// 1 to 10 000 characters.
    #[oai(validator(max_length = 10000))]
    pub body: Text,
    /// Defaults to `public`. Customers may only post public.
    pub visibility: Option<VisibilityDto>,
}

/// One line of an SLA clock's log.
#[derive(Debug, Object)]
pub struct ClockEventDto {
    pub clock: ClockKindDto,
    pub cycle: u32,
    pub event: ClockEventKindDto,
    pub at: DateTime<FixedOffset>,
    /// What caused it: `thread.created`, `post:<id>`, `status:pending`, `priority:high`,
    /// `calendar.changed`, `sweeper`.
    pub cause: String,
    pub used_seconds: u64,
}

#[derive(Debug, Object)]
pub struct SearchItem {
    pub number: i64,
    pub title: String,
    pub status: StatusDto,
    /// The matching text with some context.
    pub snippet: String,
    /// `title` or `post`.
    pub matched: String,
    pub post_id: Option<Uuid>,
}

#[derive(Debug, Object)]
pub struct SearchResults {
    pub items: Vec<SearchItem>,
    pub next_cursor: Option<String>,
}

// ---- from the services' records --------------------------------------------

fn clock(v: ClockView) -> ClockDto {
    ClockDto {
        target_minutes: v.target_minutes,
        due_at: v.due_at.map(to_wire),
        state: v.state.into(),
        used_seconds: v.used_seconds,
        remaining_seconds: v.remaining_seconds,
        met_at: v.met_at.map(to_wire),
    }
}

pub fn sla_dto(sla: &ThreadSla, at: DateTime<Utc>, cal: &BusinessCalendar) -> SlaDto {
    SlaDto {
        first_response: clock(sla.first_response.view(at, cal)),
        next_reply: sla.next_reply.as_ref().map(|c| clock(c.view(at, cal))),
        resolution: clock(sla.resolution.view(at, cal)),
    }
}

pub fn thread_dto(v: ThreadView, cal: &BusinessCalendar, at: DateTime<Utc>) -> ThreadDto {
    let breached = v.breached(at, cal);
    let t = v.thread;
    let sla = sla_dto(&v.sla, at, cal);
    ThreadDto {
        number: t.number,
        organization_id: t.organization_id,
        title: t.title,
        category: t.category,
        priority: t.priority.into(),
        status: t.status.into(),
        channel: t.channel.into(),
        assignee_id: t.assignee_id,
        tags: t.tags,
        created_by: t.created_by,
        follow_up_of: t.follow_up_of,
        post_count: v.post_count,
        last_public_post_at: t.last_public_post_at.map(to_wire),
        breached,
        sla,
        version: t.version,
        created_at: to_wire(t.created_at),
        updated_at: to_wire(t.updated_at),
    }
}

pub fn clock_event_dto(e: ClockEvent) -> ClockEventDto {
    ClockEventDto {
        clock: e.kind.into(),
        cycle: e.cycle,
        event: e.event.into(),
        at: to_wire(e.at),
        cause: e.cause.wire(),
        used_seconds: e.used_seconds,
    }
}

pub fn post_dto(p: PostRecord, number: i64) -> PostDto {
    PostDto {
        id: p.id,
        thread_number: number,
        author_id: p.author_id,
        author_name: p.author_name,
        author_role: p.author_role.into(),
        visibility: match p.visibility {
            madoguchi_domain::board::Visibility::Public => VisibilityDto::Public,
            madoguchi_domain::board::Visibility::Internal => VisibilityDto::Internal,
        },
        body: p.body,
        created_at: to_wire(p.created_at),
    }
}
