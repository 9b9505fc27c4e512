//! The shapes the API reads and writes, one module per resource, with the
//! mappers from services' records beside them: the routes, the board and the
//! export take a resource's wire shape from its module here, never from a
//! route. Plain poem-openapi objects; no storage type ever appears in the
//! schema.

pub mod accounts;
pub mod announcements;
pub mod api_keys;
pub mod audit;
pub mod calendar;
pub mod calls;
pub mod ops;
pub mod organizations;
pub mod sla_policies;
pub mod threads;
pub mod users;
pub mod webhooks;

pub use accounts::*;
pub use announcements::*;
pub use api_keys::*;
pub use audit::*;
pub use calendar::*;
pub use calls::*;
pub use ops::*;
pub use organizations::*;
pub use sla_policies::*;
pub use threads::*;
pub use users::*;
pub use webhooks::*;

#[cfg(test)]
mod tests {
    use chrono::{DateTime, FixedOffset, TimeZone};
    use poem_openapi::types::ToJSON;
    use uuid::Uuid;

    use super::*;

    fn clock(due: Option<DateTime<FixedOffset>>, met: Option<DateTime<FixedOffset>>) -> ClockDto {
        ClockDto {
            target_minutes: 240,
            due_at: due,
            state: ClockStateDto::Running,
            used_seconds: 1_234,
            remaining_seconds: 13_166,
            met_at: met,
        }
    }

    fn thread(full: bool, priority: PriorityDto, status: StatusDto) -> ThreadDto {
        let jst = FixedOffset::east_opt(9 * 3600).unwrap();
        // One time with a fraction of a second, as stored times have.
        let t = jst.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
            + chrono::Duration::microseconds(123_456);
        ThreadDto {
            number: 42,
            organization_id: Uuid::nil(),
            title: "予約システムにログインできない \"至急\"\n".into(),
            category: full.then_some("電子カルテ".to_owned()),
            priority,
            status,
            channel: ChannelDto::Board,
            assignee_id: full.then_some(Uuid::from_u128(7)),
            tags: if full {
                vec!["レセプト".into(), "FAX".into()]
            } else {
                vec![]
            },
            created_by: full.then_some(Uuid::from_u128(9)),
            follow_up_of: full.then_some(41),
            post_count: 3,
            last_public_post_at: full.then_some(t),
            breached: full,
            sla: SlaDto {
                first_response: clock(full.then_some(t), None),
                next_reply: if full {
                    Some(clock(None, Some(t)))
                } else {
                    None
                },
                resolution: clock(Some(t), full.then_some(t)),
            },
            version: 5,
            created_at: jst.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            updated_at: t,
        }
    }

    /// The queue and the thread lists are written with serde ([`crate::http::payload`]);
    /// what they write must be what the schema (poem-openapi's `ToJSON`) says, for
    /// every field set and unset and every enum value.
    #[test]
    fn a_thread_page_written_with_serde_is_what_poem_openapi_would_write() {
        let priorities = [
            PriorityDto::Low,
            PriorityDto::Normal,
            PriorityDto::High,
            PriorityDto::Urgent,
        ];
        let statuses = [
            StatusDto::New,
            StatusDto::Open,
            StatusDto::Pending,
            StatusDto::Resolved,
            StatusDto::Closed,
        ];
        let mut items = Vec::new();
        for (i, s) in statuses.into_iter().enumerate() {
            items.push(thread(i % 2 == 0, priorities[i % priorities.len()], s));
            items.push(thread(
                i % 2 == 1,
                priorities[(i + 1) % priorities.len()],
                s,
            ));
        }
        for next_cursor in [None, Some("abc".to_owned())] {
            let page = ThreadList {
                items: items
                    .iter()
                    .map(|t| thread(t.breached, t.priority, t.status))
                    .collect(),
                next_cursor,
            };
            let by_serde = serde_json::to_value(&page).unwrap();
            let by_schema = page.to_json().unwrap();
            assert_eq!(by_serde, by_schema);
            // Not only equal as values: the times are the same text.
            assert!(serde_json::to_string(&page)
                .unwrap()
                .contains("2026-12-07T09:00:00.123456+09:00"));
        }
    }
}
