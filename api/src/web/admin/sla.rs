//! The admin's SLA policy page.

use super::*;

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    pub(crate) done: String,
}

async fn sla_page(
    state: &AppState,
    s: &WebSession,
    done: &str,
    typed: Option<(Priority, [String; 3], FieldErrors)>,
    status: StatusCode,
) -> Response {
    let (set, meta) = match svc::get_policies(state, &s.principal).await {
        Ok(r) => r,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let mut typed = typed;
    let rows = Priority::ALL
        .iter()
        .rev()
        .map(|&p| {
            let pol = set.get(p);
            let updated = meta
                .iter()
                .find(|(x, _, _)| *x == p)
                .map(|m| jp::full_datetime(m.2))
                .unwrap_or_else(|| "初期設定".to_owned());
            let (values, errors) = match typed.take_if(|t| t.0 == p) {
                Some((_, v, e)) => (v, e),
                None => (
                    [
                        pol.first_response_minutes.to_string(),
                        pol.next_reply_minutes.to_string(),
                        pol.resolution_minutes.to_string(),
                    ],
                    FieldErrors::default(),
                ),
            };
            let [first, next, resolution] = values;
            SlaRow {
                priority: p.as_str(),
                label: jp::priority(p),
                first,
                next,
                resolution,
                first_text: jp::duration(u64::from(pol.first_response_minutes) * 60),
                resolution_text: jp::duration(u64::from(pol.resolution_minutes) * 60),
                updated,
                errors,
            }
        })
        .collect();
    let page = AdminSlaPage {
        layout: admin_layout(state, s, "SLA目標", Some(done)).await,
        rows,
        min: *SlaPolicy::MINUTES.start(),
        max: *SlaPolicy::MINUTES.end(),
    };
    render(status, &page)
}

#[handler]
pub async fn sla(
    state: Data<&AppState>,
    Query(q): Query<DoneQuery>,
    AdminSignedIn(s): AdminSignedIn,
) -> Response {
    sla_page(&state, &s, &q.done, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct SlaForm {
    #[serde(default)]
    pub(crate) csrf: String,
    #[serde(default)]
    pub(crate) first_response_minutes: String,
    #[serde(default)]
    pub(crate) next_reply_minutes: String,
    #[serde(default)]
    pub(crate) resolution_minutes: String,
}

#[handler]
pub async fn put_sla(
    state: Data<&AppState>,
    Path(priority): Path<String>,
    SessionForm(s, f): SessionForm<SlaForm>,
) -> Response {
    let Ok(priority) = Priority::parse(&priority) else {
        return failure(&state, Some(&s), ApiError::new(ProblemType::NotFound)).await;
    };
    // Not a number reads as 0, which the policy's own range check refuses
    // with the field's message.
    let minutes = |v: &str| v.trim().parse::<u32>().unwrap_or(0);
    let next = Some(f.next_reply_minutes.trim())
        .filter(|v| !v.is_empty())
        .map(minutes);
    let policy = SlaPolicy::stated(
        minutes(&f.first_response_minutes),
        next,
        minutes(&f.resolution_minutes),
    );
    match svc::put_policy(&state, &s.principal, priority, policy).await {
        Ok(_) => see_other("/admin/sla?done=sla-saved"),
        Err(e) if e.kind == ProblemType::ValidationFailed => {
            let typed = (
                priority,
                [
                    f.first_response_minutes,
                    f.next_reply_minutes,
                    f.resolution_minutes,
                ],
                field_errors(&e),
            );
            sla_page(
                &state,
                &s,
                "",
                Some(typed),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => failure(&state, Some(&s), e).await,
    }
}
