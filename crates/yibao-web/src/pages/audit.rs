//! Audit (稽核) in the portal: a person's medical history file (参保人病史档案), read by staff
//! who see the person in full and by the person, added to by auditors.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use yibao_core::history::{HistoryInput, HistoryKind, HistorySource};
use yibao_core::{InvalidValue, Lang, Permission};
use yibao_store::HistoryEntry;

use super::shared::{choices, notice, or_show, when, Choice};
use super::{render, Ctx, DoneAsk};
use crate::context::Caller;
use crate::error::AppError;
use crate::{service, SharedState};

/// An entry of a medical history file as the pages show it.
pub struct HistoryRow {
    pub kind: String,
    pub code: String,
    pub name: String,
    pub noted_on: String,
    pub source: String,
    pub verified: String,
}

pub(crate) fn history_rows(entries: &[HistoryEntry], lang: Lang) -> Vec<HistoryRow> {
    entries
        .iter()
        .map(|e| HistoryRow {
            kind: e.kind.label().get(lang).to_string(),
            code: e.code.clone(),
            name: e.name.clone(),
            noted_on: e.noted_on.to_string(),
            source: format!("{} {}", e.source.label().get(lang), e.source_ref),
            verified: format!("{} · {}", e.verified_by, when(&e.verified_at)),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "medical_history.html")]
struct HistoryPage {
    ctx: Ctx,
    person_id: i64,
    person_name: String,
    entries: Vec<HistoryRow>,
    can_add: bool,
    kinds: Vec<Choice>,
    f: HistoryForm,
    errors: Vec<String>,
    notice: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
pub struct HistoryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    noted_on: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    source_ref: String,
}

impl HistoryForm {
    fn parse(&self) -> Result<(HistoryInput, HistorySource), Vec<InvalidValue>> {
        let mut errors = Vec::new();
        let kind = HistoryKind::parse(&self.kind).ok();
        if kind.is_none() {
            errors.push(InvalidValue::new("kind", "required", "请选择类别", "choose the kind"));
        }
        let noted_on = self.noted_on.trim().parse().ok();
        if noted_on.is_none() {
            errors.push(InvalidValue::new("noted_on", "bad_date", "请填写日期", "give the day"));
        }
        let source = HistorySource::parse(&self.source).unwrap_or(HistorySource::Audit);
        match (kind, noted_on) {
            (Some(kind), Some(noted_on)) if errors.is_empty() => Ok((
                HistoryInput { kind, code: self.code.trim().to_string(), name: self.name.trim().to_string(), noted_on },
                source,
            )),
            _ => Err(errors),
        }
    }
}

async fn show_history(
    state: &SharedState,
    caller: &Caller,
    id: i64,
    f: HistoryForm,
    done: &str,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let lang = caller.lang;
    let (person, entries) = service::audit::medical_history(&state.store, caller, id).await?;
    let page = HistoryPage {
        ctx: Ctx::for_caller(caller, &format!("/persons/{id}/medical-history")),
        person_id: id,
        person_name: person.name.to_string(),
        entries: history_rows(&entries, lang),
        can_add: caller.can(Permission::Audit),
        kinds: choices(HistoryKind::ALL, HistoryKind::code, HistoryKind::label, lang),
        f,
        errors,
        notice: notice(lang, done),
    };
    Ok(render(&page)?.into_response())
}

/// `GET /persons/{id}/medical-history`
pub async fn medical_history_page(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<DoneAsk>,
) -> Result<Response, AppError> {
    let f = HistoryForm { noted_on: caller.today.to_string(), ..HistoryForm::default() };
    show_history(&state, &caller, id, f, &q.done, Vec::new()).await
}

/// `POST /persons/{id}/medical-history`: an auditor adds an entry.
pub async fn medical_history_add(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<HistoryForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = match f.parse() {
        Ok((input, source)) => {
            service::audit::add_history(&state.store, &caller, id, &input, source, &f.source_ref).await.map(|_| ())
        }
        Err(e) => Err(AppError::validation(e)),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/persons/{id}/medical-history?done=history_added")).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_history(&state, &caller, id, f.clone(), "", m)).await,
    }
}
