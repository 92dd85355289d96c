//! The agency's audit of off-site treatment in the portal: a filing's own page, where the
//! clerk reads the person's medical history file before deciding, asks for a pre-evaluation
//! and records it; and the auditors' tasks (现场稽核, 复查, 事后抽查) with their photos and
//! conclusions.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use yibao_core::filing::RejectReason;
use yibao_core::inspection::{AuditTaskKind, Conclusion, PreEvaluation};
use yibao_core::{Fen, InvalidValue, Lang, Permission};
use yibao_store::{AuditTask, NewTask};

use super::audit::{history_rows, HistoryRow};
use super::shared::{choices, notice, or_show, when, Choice, FilingRow};
use super::{render, Ctx, DoneAsk};
use crate::context::Caller;
use crate::error::AppError;
use crate::forms::upload::FormWithFile;
use crate::{service, SharedState};

// ---------------------------------------------------------------------------------------
// A filing's page

/// A recorded pre-evaluation as the pages show it.
pub struct PreEvaluationView {
    pub condition: String,
    pub diagnosis: String,
    pub treatment: String,
    pub expected: String,
    pub photos_required: bool,
    pub recheck: String,
    pub recorded: String,
}

/// A stay's comparison with its pre-evaluation as the pages show it: the pre-evaluation and
/// each difference in the reader's language.
pub(crate) fn comparison_view(
    found: Option<service::audit::Compared>,
    lang: Lang,
) -> Option<(PreEvaluationView, Vec<String>)> {
    let (pre, differences) = found?;
    let view = PreEvaluationView::new(pre.record.as_ref()?, pre.recorded_by.clone().unwrap_or_default(), lang);
    Some((view, differences.iter().map(|d| d.message.get(lang).to_string()).collect()))
}

impl PreEvaluationView {
    pub(crate) fn new(r: &PreEvaluation, recorded: String, lang: Lang) -> PreEvaluationView {
        let zh = lang == Lang::Zh;
        let surgery = match (r.surgery_planned, zh) {
            (true, true) => "（手术）",
            (true, false) => " (surgery)",
            _ => "",
        };
        let days = r.expected_days.map(|d| if zh { format!("{d} 天") } else { format!("{d} days") });
        let amount = r.expected_amount.map(|a| {
            if zh {
                format!("{} 元", a.to_grouped())
            } else {
                format!("{} yuan", a.to_grouped())
            }
        });
        PreEvaluationView {
            condition: r.condition.clone(),
            diagnosis: format!("{} {}", r.diagnosis_code, r.diagnosis_name),
            treatment: format!("{}{surgery}", r.treatment),
            expected: [days, amount].into_iter().flatten().collect::<Vec<_>>().join(" · "),
            photos_required: r.photos_required,
            recheck: r
                .recheck_within_days
                .map(|d| {
                    if zh {
                        format!("出院后 {d} 天内复查")
                    } else {
                        format!("a re-check within {d} days of discharge")
                    }
                })
                .unwrap_or_default(),
            recorded,
        }
    }
}

#[derive(Template)]
#[template(path = "filing.html")]
struct FilingPage {
    ctx: Ctx,
    x: FilingRow,
    entries: Vec<HistoryRow>,
    /// A pre-evaluation asked for: its note and who asked, and the record once made.
    pre_required: Option<(String, String)>,
    pre_version: i64,
    pre: Option<PreEvaluationView>,
    can_decide: bool,
    can_record: bool,
    reasons: Vec<Choice>,
    p: PreForm,
    errors: Vec<String>,
    notice: Option<String>,
}

async fn show_filing(
    state: &SharedState,
    caller: &Caller,
    id: i64,
    p: PreForm,
    done: &str,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let lang = caller.lang;
    if !caller.can(Permission::ManageFilings) {
        caller.require(Permission::Audit)?;
    }
    let f = service::cover::filing(&state.store, caller, id).await?;
    let pre = service::audit::pre_evaluation(&state.store, caller, id).await?;
    let (_, entries) = service::audit::medical_history(&state.store, caller, f.person_id).await?;
    let page = FilingPage {
        ctx: Ctx::for_caller(caller, "/filings"),
        x: FilingRow::new(&f, lang, caller.today),
        entries: history_rows(&entries, lang),
        pre_required: pre.as_ref().map(|p| (p.note.clone(), format!("{} · {}", p.required_by, when(&p.required_at)))),
        pre_version: pre.as_ref().map_or(0, |p| p.version),
        pre: pre.as_ref().and_then(|p| {
            let recorded = format!(
                "{} · {}",
                p.recorded_by.clone().unwrap_or_default(),
                when(p.recorded_at.as_deref().unwrap_or(""))
            );
            p.record.as_ref().map(|r| PreEvaluationView::new(r, recorded, lang))
        }),
        can_decide: caller.can(Permission::ManageFilings) && f.status == yibao_core::cover::FilingStatus::Applied,
        can_record: caller.can(Permission::ManageFilings) || caller.can(Permission::Audit),
        reasons: choices(&RejectReason::ALL, RejectReason::code, RejectReason::label, lang),
        p,
        errors,
        notice: notice(lang, done),
    };
    Ok(render(&page)?.into_response())
}

/// `GET /filings/{id}`: the filing, the person's medical history file, its pre-evaluation, and
/// the decision (clerks and auditors of the person's region).
pub async fn filing_page(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<DoneAsk>,
) -> Result<Response, AppError> {
    show_filing(&state, &caller, id, PreForm::default(), &q.done, Vec::new()).await
}

/// The pre-evaluation forms: asking the person to come in (`note`), and what was seen.
#[derive(Deserialize, Default, Clone)]
pub struct PreForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    version: i64,
    #[serde(default)]
    condition: String,
    #[serde(default)]
    diagnosis_code: String,
    #[serde(default)]
    diagnosis_name: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    surgery_planned: Option<String>,
    #[serde(default)]
    treatment: String,
    #[serde(default)]
    expected_days: String,
    #[serde(default)]
    expected_amount: String,
    #[serde(default)]
    photos_required: Option<String>,
    #[serde(default)]
    recheck_within_days: String,
}

impl PreForm {
    fn record(&self) -> Result<PreEvaluation, AppError> {
        let number = |field: &'static str, text: &str| -> Result<Option<u32>, AppError> {
            match text.trim() {
                "" => Ok(None),
                t => t.parse().map(Some).map_err(|_| {
                    AppError::validation(vec![InvalidValue::new(
                        field,
                        "number",
                        "请填写整数天数",
                        "give a whole number of days",
                    )])
                }),
            }
        };
        let amount = match self.expected_amount.trim() {
            "" => None,
            a => Some(a.parse::<Fen>()?),
        };
        Ok(PreEvaluation {
            condition: self.condition.trim().to_string(),
            diagnosis_code: self.diagnosis_code.trim().to_uppercase(),
            diagnosis_name: self.diagnosis_name.trim().to_string(),
            surgery_planned: self.surgery_planned.is_some(),
            treatment: self.treatment.trim().to_string(),
            expected_days: number("expected_days", &self.expected_days)?,
            expected_amount: amount,
            photos_required: self.photos_required.is_some(),
            recheck_within_days: number("recheck_within_days", &self.recheck_within_days)?,
        })
    }
}

/// `POST /filings/{id}/pre-evaluation`: the clerk asks the person to come in first.
pub async fn pre_evaluation_require(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(p): Form<PreForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&p.csrf)?;
    match service::audit::require_pre_evaluation(&state.store, &caller, id, &p.note).await {
        Ok(_) => Ok(Redirect::to(&format!("/filings/{id}?done=pre_required")).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_filing(&state, &caller, id, p.clone(), "", m)).await,
    }
}

/// `POST /filings/{id}/pre-evaluation/record`: what the agency saw when the person came in.
pub async fn pre_evaluation_record(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(p): Form<PreForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&p.csrf)?;
    let result = async {
        let record = p.record()?;
        service::audit::record_pre_evaluation(&state.store, &caller, id, p.version, &record).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/filings/{id}?done=pre_recorded")).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_filing(&state, &caller, id, p.clone(), "", m)).await,
    }
}

// ---------------------------------------------------------------------------------------
// Audit tasks

/// A task as the pages list it.
pub struct TaskRow {
    pub id: i64,
    pub kind: String,
    pub kind_code: &'static str,
    pub person_id: i64,
    pub person_name: String,
    pub subject: String,
    pub subject_link: String,
    pub place: String,
    pub assignee: String,
    /// The username it was sent to; empty: any auditor of the region.
    pub assignee_code: String,
    pub due_on: String,
    pub overdue: bool,
    pub state: String,
    pub open: bool,
    pub conclusion: String,
    pub conclusion_code: &'static str,
}

pub(crate) fn task_rows(tasks: &[AuditTask], caller: &Caller) -> Vec<TaskRow> {
    let lang = caller.lang;
    tasks
        .iter()
        .map(|t| {
            let open = t.state == "open";
            TaskRow {
                id: t.id,
                kind: t.kind.label().get(lang).to_string(),
                kind_code: t.kind.code(),
                person_id: t.person_id,
                person_name: t.person_name.clone(),
                subject: t.claim_number.clone().or_else(|| t.mdtrt_id.clone()).unwrap_or_default(),
                subject_link: t.claim_id.map(|c| format!("/claims/{c}")).unwrap_or_default(),
                place: t.place.clone(),
                assignee: if t.assignee.is_empty() {
                    crate::i18n::t(lang, "tasks.anyone").to_string()
                } else {
                    t.assignee.clone()
                },
                assignee_code: t.assignee.clone(),
                due_on: t.due_on.to_string(),
                overdue: open && t.due_on < caller.today,
                state: crate::i18n::t(lang, if open { "tasks.open" } else { "tasks.done" }).to_string(),
                open,
                conclusion: t.conclusion.map(|c| c.label().get(lang).to_string()).unwrap_or_default(),
                conclusion_code: t.conclusion.map_or("", |c| c.code()),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "audit_tasks.html")]
struct TasksPage {
    ctx: Ctx,
    tasks: Vec<TaskRow>,
    all: bool,
    kinds: Vec<Choice>,
    f: TaskForm,
    errors: Vec<String>,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct TasksAsk {
    #[serde(default)]
    all: Option<String>,
    #[serde(default)]
    done: String,
    /// A claim to send an auditor about (the claim page's link).
    #[serde(default)]
    claim: Option<i64>,
}

#[derive(Deserialize, Default, Clone)]
pub struct TaskForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    resident_id: String,
    #[serde(default)]
    claim_id: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    due_on: String,
    #[serde(default)]
    instructions: String,
}

async fn show_tasks(
    state: &SharedState,
    caller: &Caller,
    all: bool,
    f: TaskForm,
    done: &str,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let tasks = service::audit::audit_tasks(&state.store, caller, !all).await?;
    let page = TasksPage {
        ctx: Ctx::for_caller(caller, "/audit-tasks"),
        tasks: task_rows(&tasks, caller),
        all,
        kinds: choices(AuditTaskKind::ALL, AuditTaskKind::code, AuditTaskKind::label, caller.lang),
        f,
        errors,
        notice: notice(caller.lang, done),
    };
    Ok(render(&page)?.into_response())
}

/// `GET /audit-tasks`: the auditors' tasks of their regions, and the form that sends one.
pub async fn audit_tasks_page(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<TasksAsk>,
) -> Result<Response, AppError> {
    let mut f = TaskForm {
        kind: AuditTaskKind::OnSite.code().into(),
        due_on: (caller.today + chrono::Duration::days(3)).to_string(),
        ..TaskForm::default()
    };
    if let Some(claim) = q.claim {
        let (c, _) = service::claims::claim(&state.store, &caller, claim).await?;
        let person = state.store.person(c.person_id).await?;
        f.resident_id = person.resident_id.to_string();
        f.claim_id = c.id.to_string();
        f.place = c.institution_name.clone();
    }
    show_tasks(&state, &caller, q.all.is_some(), f, &q.done, Vec::new()).await
}

/// `POST /audit-tasks`: an auditor sends an auditor on a task.
pub async fn audit_task_create(
    State(state): State<SharedState>,
    caller: Caller,
    Form(f): Form<TaskForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = async {
        caller.require(Permission::Audit)?;
        let kind = AuditTaskKind::parse(&f.kind)?;
        let rid = f.resident_id.trim().parse().map_err(|mut e: InvalidValue| {
            e.field = "resident_id";
            AppError::validation(vec![e])
        })?;
        let person = state.store.person_by_resident_id(&rid).await?.ok_or_else(|| AppError::not_found("person"))?;
        let claim_id = match f.claim_id.trim() {
            "" => None,
            c => Some(c.parse::<i64>().map_err(|_| AppError::not_found("claim"))?),
        };
        let due_on = f.due_on.trim().parse().map_err(|_| {
            AppError::validation(vec![InvalidValue::new("due_on", "bad_date", "请填写完成期限", "give the due date")])
        })?;
        let task = NewTask {
            kind,
            person_id: person.id,
            claim_id,
            visit_id: None,
            filing_id: None,
            place: f.place.clone(),
            assignee: f.assignee.clone(),
            due_on,
            instructions: f.instructions.clone(),
        };
        service::audit::create_audit_task(&state.store, &caller, &task).await
    }
    .await;
    match result {
        Ok(t) => Ok(Redirect::to(&format!("/audit-tasks/{}?done=task_created", t.id)).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_tasks(&state, &caller, false, f.clone(), "", m)).await,
    }
}

#[derive(Template)]
#[template(path = "audit_task.html")]
struct TaskPage {
    ctx: Ctx,
    /// The one task (a list, as the table partial expects).
    tasks: Vec<TaskRow>,
    version: i64,
    instructions: String,
    visited_on: String,
    findings: String,
    /// (document id, taken at, caption, added by)
    photos: Vec<(i64, String, String, String)>,
    conclusions: Vec<Choice>,
    /// The stay against its pre-evaluation, for a re-check.
    comparison: Option<(PreEvaluationView, Vec<String>)>,
    today: String,
    errors: Vec<String>,
    notice: Option<String>,
}

async fn show_task(
    state: &SharedState,
    caller: &Caller,
    id: i64,
    done: &str,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let t = service::audit::audit_task(&state.store, caller, id).await?;
    let comparison = comparison_view(service::audit::task_comparison(&state.store, &t).await?, caller.lang);
    let page = TaskPage {
        comparison,
        ctx: Ctx::for_caller(caller, "/audit-tasks"),
        tasks: task_rows(std::slice::from_ref(&t), caller),
        version: t.version,
        instructions: t.instructions.clone(),
        visited_on: t.visited_on.map(|d| d.to_string()).unwrap_or_default(),
        findings: t.findings.clone().unwrap_or_default(),
        photos: t
            .photos
            .iter()
            .map(|p| (p.document_id, p.taken_at.clone(), p.caption.clone(), p.added_by.clone()))
            .collect(),
        conclusions: choices(Conclusion::ALL, Conclusion::code, Conclusion::label, caller.lang),
        today: caller.today.to_string(),
        errors,
        notice: notice(caller.lang, done),
    };
    Ok(render(&page)?.into_response())
}

/// `GET /audit-tasks/{id}`
pub async fn audit_task_page(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<DoneAsk>,
) -> Result<Response, AppError> {
    show_task(&state, &caller, id, &q.done, Vec::new()).await
}

/// `POST /audit-tasks/{id}/photos`: a photo from the visit.
pub async fn audit_photo_add(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    FormWithFile { form, file }: FormWithFile<PhotoPageForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&form.csrf)?;
    let result = async {
        let file = crate::forms::upload::required_file(file)?;
        let at = crate::api::audit::taken_at(&form.taken_at)?;
        service::audit::add_audit_photo(&state.store, &state.blobs, &caller, id, file, at, &form.caption).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/audit-tasks/{id}?done=photo_added")).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_task(&state, &caller, id, "", m)).await,
    }
}

#[derive(Deserialize)]
pub struct PhotoPageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    taken_at: String,
    #[serde(default)]
    caption: String,
}

#[derive(Deserialize)]
pub struct ConclusionForm {
    #[serde(default)]
    csrf: String,
    version: i64,
    #[serde(default)]
    visited_on: String,
    #[serde(default)]
    findings: String,
    #[serde(default)]
    conclusion: String,
}

/// `POST /audit-tasks/{id}/conclusion`
pub async fn audit_task_conclude(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<ConclusionForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = async {
        let conclusion = Conclusion::parse(&f.conclusion)?;
        let visited_on = f.visited_on.trim().parse().map_err(|_| {
            AppError::validation(vec![InvalidValue::new(
                "visited_on",
                "bad_date",
                "请填写稽核日期",
                "give the day of the visit",
            )])
        })?;
        let concluded = yibao_store::Concluded { visited_on, findings: f.findings.clone(), conclusion };
        service::audit::conclude_audit_task(&state.store, &caller, id, f.version, &concluded).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/audit-tasks/{id}?done=task_concluded")).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_task(&state, &caller, id, "", m)).await,
    }
}

#[derive(Deserialize)]
pub struct TakeTaskForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /audit-tasks/{id}/take`: an auditor takes a task sent to the region's auditors.
pub async fn audit_task_take(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<TakeTaskForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    match service::audit::take_audit_task(&state.store, &caller, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/audit-tasks/{id}?done=task_taken")).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_task(&state, &caller, id, "", m)).await,
    }
}
