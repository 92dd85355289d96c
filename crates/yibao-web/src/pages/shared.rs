//! What several pages show alike: choices for a select, the notice after a redirect, a form
//! shown again with its errors, the insured person behind a log-in, and the filing rows and
//! cover answer that the cover pages and the institution's desk both show.

use chrono::NaiveDate;
use serde::Deserialize;
use yibao_core::cover::FilingStatus;
use yibao_core::{Lang, Permission};
use yibao_store::{CoverReport, StoredFiling};

use super::form_messages;
use crate::context::Caller;
use crate::error::AppError;
use crate::i18n;
use axum::response::Response;

pub struct Choice {
    pub code: String,
    pub label: String,
}

pub(super) fn choices<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: fn(T) -> yibao_core::Text,
    lang: Lang,
) -> Vec<Choice> {
    all.iter().map(|k| Choice { code: code(*k).to_string(), label: label(*k).get(lang).to_string() }).collect()
}

/// A stored instant (`2026-12-06T04:35:01Z`) as people in China read it, in China time:
/// `2026-12-06 12:35`.
/// 「名称（补充）」 in Chinese, "name (aside)" in English.
pub(crate) fn aside(lang: Lang, main: &str, inner: &str) -> String {
    match lang {
        Lang::Zh => format!("{main}（{inner}）"),
        Lang::En => format!("{main} ({inner})"),
    }
}

pub(super) fn when(instant: &str) -> String {
    let china = chrono::FixedOffset::east_opt(8 * 3600);
    match (chrono::DateTime::parse_from_rfc3339(instant), china) {
        (Ok(t), Some(china)) => t.with_timezone(&china).format("%Y-%m-%d %H:%M").to_string(),
        _ => instant.replace('T', " ").trim_end_matches('Z').chars().take(16).collect(),
    }
}

#[derive(askama::Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    ctx: super::Ctx,
    title: String,
    what: String,
    button: String,
    action: String,
    fields: Vec<(String, String)>,
    back: String,
}

/// A step that cannot be undone asks first: unless the form says `confirmed=1`, the page
/// says in words what will happen (`confirm.{what}.title`, `.what`, `.button`) and posts the
/// same `fields` to `action` again, confirmed; or goes `back`. Works without JavaScript.
pub(crate) fn confirmed_or_ask(
    caller: &Caller,
    confirmed: &str,
    what: &str,
    action: &str,
    fields: &[(&str, &str)],
    back: &str,
) -> Option<Result<Response, AppError>> {
    if confirmed == "1" {
        return None;
    }
    let t = |k: &str| i18n::t(caller.lang, &format!("confirm.{what}.{k}")).to_string();
    let page = ConfirmPage {
        ctx: super::Ctx::for_caller(caller, back),
        title: t("title"),
        what: t("what"),
        button: t("button"),
        action: action.to_string(),
        fields: fields.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect(),
        back: back.to_string(),
    };
    Some(super::render(&page).map(axum::response::IntoResponse::into_response))
}

pub(super) fn notice(lang: Lang, done: &str) -> Option<String> {
    let key = format!("done.{done}");
    i18n::lookup(lang, &key).map(str::to_string)
}

/// Shows `show` with the error's messages when the person can correct it.
pub(super) async fn or_show<F, Fut>(e: AppError, lang: Lang, show: F) -> Result<Response, AppError>
where
    F: FnOnce(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Response, AppError>>,
{
    match form_messages(&e, lang) {
        Some(messages) => show(messages).await,
        None => Err(e),
    }
}

/// A form's errors by field, to say each beside its field as well as in the list at the top.
#[derive(Default)]
pub(crate) struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    pub(crate) fn of(e: &AppError, lang: Lang) -> FieldErrors {
        FieldErrors(e.field_errors.iter().map(|f| (f.field, f.message(lang).to_string())).collect())
    }

    /// What is wrong with `field` ("" when nothing is), each message once.
    pub(crate) fn beside(&self, field: &str) -> String {
        let mut said: Vec<&str> = Vec::new();
        for (_, m) in self.0.iter().filter(|(f, _)| *f == field) {
            if !said.contains(&m.as_str()) {
                said.push(m);
            }
        }
        said.join(" · ")
    }
}

/// [`or_show`] for a form that says each error beside its field too.
pub(super) async fn or_show_fields<F, Fut>(e: AppError, lang: Lang, show: F) -> Result<Response, AppError>
where
    F: FnOnce(Vec<String>, FieldErrors) -> Fut,
    Fut: std::future::Future<Output = Result<Response, AppError>>,
{
    let fields = FieldErrors::of(&e, lang);
    or_show(e, lang, |m| show(m, fields)).await
}

pub(super) fn my_person_id(caller: &Caller) -> Result<i64, AppError> {
    caller.require(Permission::ViewOwnRecord)?;
    caller.session().and_then(|s| s.account.person_id).ok_or_else(|| AppError::not_found("person"))
}

#[derive(Deserialize, Default)]
pub struct CheckAsk {
    #[serde(default)]
    pub resident_id: String,
    #[serde(default)]
    pub date: String,
}

pub struct FilingRow {
    pub id: i64,
    pub version: i64,
    pub person_id: i64,
    pub person_name: String,
    pub kind: String,
    pub destination: String,
    pub institution: String,
    pub start: String,
    pub end: String,
    pub status: String,
    pub status_code: &'static str,
    pub reason: String,
    pub channel: String,
    pub documents: String,
    /// Uploaded scans: (document id, what it is), linked for whoever may read them.
    pub files: Vec<(i64, String)>,
    pub revocable: bool,
    /// An approved long-term filing, which is changed by filing anew with `replaces`.
    pub changeable: bool,
    /// What a pre-evaluation asks of the person (come in first; photos and a re-check after
    /// discharge), where the filing has one.
    pub pre: String,
}

/// What a filing's pre-evaluation asks of the person, in their language.
pub(crate) fn pre_evaluation_asks(p: &yibao_store::StoredPreEvaluation, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let Some(r) = &p.record else {
        return if zh {
            format!("请先到医保经办机构预评估：{}", p.note)
        } else {
            format!("Come to the agency first for a pre-evaluation: {}", p.note)
        };
    };
    let mut asks = vec![if zh { "已预评估".to_string() } else { "Pre-evaluated".to_string() }];
    if r.photos_required {
        asks.push(if zh {
            "出院后须提交手术部位及全身照片".into()
        } else {
            "after discharge, hand in photos of the operated site and of the whole body".into()
        });
    }
    if let Some(days) = r.recheck_within_days {
        asks.push(if zh {
            format!("出院后 {days} 天内回医保经办机构复查")
        } else {
            format!("come back for a re-check within {days} days of discharge")
        });
    }
    asks.join(if zh { "；" } else { "; " })
}

impl FilingRow {
    pub(super) fn new(f: &StoredFiling, lang: Lang, today: NaiveDate) -> FilingRow {
        let status = f.status_on(today);
        let mut reason = match (f.reason, &f.note) {
            (Some(r), Some(n)) if !n.is_empty() => format!("{}：{n}", r.label().get(lang)),
            (Some(r), _) => r.label().get(lang).to_string(),
            _ => String::new(),
        };
        if let Some(r) = f.revoked_from {
            reason = format!("{} {r}", i18n::t(lang, "filing.revoked_from"));
        }
        FilingRow {
            id: f.id,
            version: f.version,
            person_id: f.person_id,
            person_name: f.person_name.clone(),
            kind: f.kind.label().get(lang).to_string(),
            destination: f
                .destination
                .map_or_else(|| i18n::t(lang, "filing.nationwide").to_string(), yibao_core::region::name_of),
            institution: f.institution.clone().unwrap_or_default(),
            start: format!("{}{}", f.start, if f.retroactive { i18n::t(lang, "filing.retroactive") } else { "" }),
            end: f.end.map_or_else(|| i18n::t(lang, "filing.open_ended").to_string(), |e| e.to_string()),
            status: status.label().get(lang).to_string(),
            status_code: status.code(),
            reason,
            channel: f.channel.label().get(lang).to_string(),
            documents: f
                .documents
                .iter()
                .map(|d| format!("{} {}", d.kind.label().get(lang), d.reference).trim().to_string())
                .collect::<Vec<_>>()
                .join("；"),
            files: f
                .documents
                .iter()
                .filter_map(|d| d.document_id.map(|id| (id, d.kind.label().get(lang).to_string())))
                .collect(),
            pre: String::new(),
            revocable: matches!(status, FilingStatus::Applied | FilingStatus::Approved),
            changeable: status == FilingStatus::Approved && f.kind.is_long_term(),
        }
    }
}

/// The cover answer as shown.
pub struct CoverBox {
    pub institution: String,
    pub date: String,
    pub code: &'static str,
    pub reason: String,
    pub direct: bool,
}

pub(super) fn cover_box(r: &CoverReport, lang: Lang) -> Option<CoverBox> {
    let (inst, cover) = (r.institution.as_ref()?, r.cover.as_ref()?);
    Some(CoverBox {
        institution: aside(lang, &inst.name, &inst.code),
        date: r.date.to_string(),
        code: cover.code,
        reason: cover.reason.get(lang).to_string(),
        direct: cover.direct_settlement,
    })
}

/// Who an audit label names (`account:12 (clerk01)`, `institution:H62…`, `system:…`), as the
/// caller reads it: staff see a member of staff by their name (「审核 李明」), a person or unit
/// by their account's name, an institution by its name, the system as 「系统」; anyone else
/// reads 「医保经办人员」 for staff and the system. Labels already hidden stay as they are.
pub(crate) struct Names<'a> {
    store: &'a yibao_store::Store,
    staff: bool,
    lang: Lang,
    known: std::collections::HashMap<String, String>,
}

impl<'a> Names<'a> {
    pub(crate) fn new(store: &'a yibao_store::Store, caller: &Caller) -> Names<'a> {
        Names { store, staff: caller.role().is_staff(), lang: caller.lang, known: Default::default() }
    }

    pub(crate) async fn of(&mut self, label: &str) -> String {
        if let Some(name) = self.known.get(label) {
            return name.clone();
        }
        let insurance_staff = || i18n::t(self.lang, "names.staff").to_string();
        let name = if let Some(id) = crate::service::account_id_of(label) {
            match self.store.account(id).await {
                Ok(a) if a.role.is_staff() && !self.staff => crate::service::staff_seen_by_people(&a, self.lang),
                Ok(a) => a.display_name,
                Err(_) => label.to_string(),
            }
        } else if let Some(code) = label.strip_prefix("institution:").or_else(|| label.strip_prefix("platform:")) {
            self.store.institution_by_code(code).await.map_or_else(|_| label.to_string(), |i| i.name)
        } else if label.starts_with("system:") {
            if self.staff {
                i18n::t(self.lang, "names.system").to_string()
            } else {
                insurance_staff()
            }
        } else {
            label.to_string()
        };
        self.known.insert(label.to_string(), name.clone());
        name
    }

    /// `name · 2026-12-06 12:35`.
    pub(crate) async fn at(&mut self, label: &str, instant: &str) -> String {
        format!("{} · {}", self.of(label).await, when(instant))
    }
}
