//! Payment to bank cards in the portal, for finance (and auditors, read only): the money by
//! state, the claims at risk of missing the 15-working-day promise and those overdue, by
//! region; batches to build, approve (a second finance user), export as the bank file and
//! cancel; the bank's result file to import; a batch's lines with their results.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use serde::Deserialize;
use yibao_core::payment::{BankFormat, BatchState, Subject, Urgency};
use yibao_core::{AdminCode, BankCardNumber, InvalidValue, Lang, Permission};
use yibao_store::PaymentBatch;

use super::auth::CsrfOnly;
use super::shared::{notice, or_show};
use super::{render_form, Ctx, DoneAsk};
use crate::context::Caller;
use crate::error::AppError;
use crate::forms::upload::{required_file, FormWithFile};
use crate::service::payments::{self as svc, BatchStep};
use crate::{i18n, SharedState};

/// The page of what a payment order pays.
pub fn subject_link(subject: Subject) -> String {
    match subject {
        Subject::Claim(id) => format!("/claims/{id}"),
        Subject::Withdrawal(id) => format!("/withdrawals/{id}"),
        Subject::Clearing(id) => format!("/clearings/{id}"),
    }
}

pub struct DueRow {
    /// The page of what the order pays (a claim or a withdrawal).
    pub link: String,
    pub subject_number: String,
    pub region: String,
    pub payee: String,
    pub amount: String,
    pub state: String,
    pub due_on: String,
    pub urgency: String,
    pub urgency_code: &'static str,
}

pub struct BatchRow {
    pub id: i64,
    pub number: String,
    pub region: String,
    pub state: String,
    pub state_code: &'static str,
    pub count: i64,
    pub total: String,
    pub built: String,
}

impl BatchRow {
    /// The batch as its list and page show it; who built it by name.
    async fn new(b: &PaymentBatch, lang: Lang, names: &mut super::shared::Names<'_>) -> BatchRow {
        BatchRow {
            id: b.id,
            number: b.number.clone(),
            region: b.region.to_string(),
            state: b.state.label().get(lang).to_string(),
            state_code: b.state.code(),
            count: b.count,
            total: b.total.to_grouped(),
            built: names.at(&b.built_by, &b.built_at).await,
        }
    }
}

#[derive(Template)]
#[template(path = "payments.html")]
struct PaymentsPage {
    ctx: Ctx,
    by_state: Vec<(String, &'static str, i64, String)>,
    due: Vec<DueRow>,
    waiting: Vec<DueRow>,
    batches: Vec<BatchRow>,
    regions: Vec<String>,
    region: String,
    up_to: String,
    formats: Vec<super::shared::Choice>,
    can_manage: bool,
    errors: Vec<String>,
    notice: Option<String>,
}

async fn show_payments(
    state: &SharedState,
    caller: &Caller,
    done: &str,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let lang = caller.lang;
    let o = svc::overview(&state.store, caller).await?;
    let row = |d: &svc::DueOrder| DueRow {
        link: subject_link(d.order.subject()),
        subject_number: d.order.subject_number.clone(),
        region: d.order.region.to_string(),
        payee: format!(
            "{}{}",
            d.order.account_name,
            d.order.bank_card.as_ref().map(|c| format!(" {}", c.masked())).unwrap_or_default()
        ),
        amount: d.order.amount.to_grouped(),
        state: d.order.state.label().get(lang).to_string(),
        due_on: d.order.due_on.to_string(),
        urgency: d.urgency.label().get(lang).to_string(),
        urgency_code: match d.urgency {
            Urgency::Overdue => "overdue",
            Urgency::AtRisk => "at_risk",
            Urgency::OnTime => "on_time",
        },
    };
    let scope = crate::service::staff_scope(caller);
    let mut names = super::shared::Names::new(&state.store, caller);
    let mut batches = Vec::new();
    for b in &o.batches {
        batches.push(BatchRow::new(b, lang, &mut names).await);
    }
    let page = PaymentsPage {
        ctx: Ctx::for_caller(caller, "/payments"),
        by_state: o
            .by_state
            .iter()
            .map(|(s, n, amount)| (s.label().get(lang).to_string(), s.code(), *n, amount.to_grouped()))
            .collect(),
        due: o.unpaid.iter().filter(|d| d.urgency != Urgency::OnTime).map(row).collect(),
        waiting: o.unpaid.iter().filter(|d| d.urgency == Urgency::OnTime).map(row).collect(),
        batches,
        region: scope.regions().first().map(ToString::to_string).unwrap_or_default(),
        regions: scope.regions().iter().map(ToString::to_string).collect(),
        up_to: caller.today.to_string(),
        formats: super::shared::choices(BankFormat::ALL, BankFormat::code, BankFormat::label, lang),
        can_manage: caller.can(Permission::ManagePayments),
        notice: notice(lang, done),
        errors: errors.clone(),
    };
    render_form(&page, !errors.is_empty())
}

/// `GET /payments`: the money by state, claims at risk and overdue, batches.
pub async fn payments_page(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<DoneAsk>,
) -> Result<Response, AppError> {
    caller.require(Permission::ViewPayments)?;
    show_payments(&state, &caller, &ask.done, Vec::new()).await
}

#[derive(Deserialize)]
pub struct BuildFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    up_to: String,
    #[serde(default)]
    format: String,
}

/// `POST /payments/batches`: builds a batch of a region's ready orders.
pub async fn batch_build(
    State(state): State<SharedState>,
    caller: Caller,
    Form(f): Form<BuildFields>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = async {
        let region: AdminCode = f.region.trim().parse().map_err(|e| AppError::validation(vec![e]))?;
        let up_to = NaiveDate::parse_from_str(f.up_to.trim(), "%Y-%m-%d").map_err(|_| {
            AppError::validation(vec![InvalidValue::new(
                "up_to",
                "format",
                "截止日期无效，应为 YYYY-MM-DD",
                "invalid date: expected YYYY-MM-DD",
            )])
        })?;
        let format = BankFormat::parse(if f.format.trim().is_empty() { "csv" } else { f.format.trim() })
            .map_err(|e| AppError::validation(vec![e]))?;
        svc::build_batch(&state.store, &caller, region, up_to, format).await
    }
    .await;
    match result {
        Ok(b) => Ok(Redirect::to(&format!("/payments/batches/{}?done=batch_built", b.id)).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_payments(&state, &caller, "", m)).await,
    }
}

pub struct ItemRow {
    pub seq: i64,
    pub link: String,
    pub order_no: String,
    pub account_name: String,
    pub bank: String,
    pub card: String,
    pub amount: String,
    pub result: String,
    pub result_code: &'static str,
    /// Set when the line pays another card than its order was approved with (old and new).
    pub changed: String,
}

#[derive(Template)]
#[template(path = "payment_batch.html")]
struct BatchPage {
    ctx: Ctx,
    b: BatchRow,
    batch: PaymentBatch,
    items: Vec<ItemRow>,
    can_approve: bool,
    can_export: bool,
    can_cancel: bool,
    can_import: bool,
    errors: Vec<String>,
    notice: Option<String>,
    zh: bool,
}

async fn show_batch(
    state: &SharedState,
    caller: &Caller,
    id: i64,
    done: &str,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let lang = caller.lang;
    let (batch, items) = svc::batch(&state.store, caller, id).await?;
    let manage = caller.can(Permission::ManagePayments);
    let me = caller.actor().label;
    let b = BatchRow::new(&batch, lang, &mut super::shared::Names::new(&state.store, caller)).await;
    let page = BatchPage {
        ctx: Ctx::for_caller(caller, "/payments"),
        b,
        items: items
            .iter()
            .map(|i| ItemRow {
                seq: i.seq,
                link: subject_link(i.subject()),
                order_no: i.order_no.clone(),
                account_name: i.account_name.clone(),
                bank: i.bank_name.clone(),
                // Finance sees the masked card; the full number is in the exported file.
                card: i.bank_card.parse::<BankCardNumber>().map(|c| c.masked()).unwrap_or_default(),
                amount: i.amount.to_grouped(),
                result: match (i.paid, &i.failure) {
                    (Some(true), _) => {
                        format!(
                            "{} {}",
                            i18n::t(lang, "pay.result_paid"),
                            i.result_on.map(|d| d.to_string()).unwrap_or_default()
                        )
                    }
                    (Some(false), f) => format!(
                        "{}{}{}{}",
                        i18n::t(lang, "pay.result_failed"),
                        if lang == Lang::Zh { "：" } else { ": " },
                        f.map(|f| f.label().get(lang).to_string()).unwrap_or_default(),
                        i.failure_note
                            .as_deref()
                            .filter(|n| !n.is_empty())
                            .map(|n| super::shared::aside(lang, "", n))
                            .unwrap_or_default()
                    ),
                    (None, _) => i18n::t(lang, "pay.result_waiting").to_string(),
                },
                result_code: match i.paid {
                    Some(true) => "paid",
                    Some(false) => "failed",
                    None => "waiting",
                },
                changed: if i.account_changed() {
                    let masked = |c: &str| c.parse::<BankCardNumber>().map(|c| c.masked()).unwrap_or_default();
                    i18n::t(lang, "pay.account_changed")
                        .replace("{old}", &i.approved_bank_card.as_deref().map_or_else(|| "—".to_string(), masked))
                        .replace("{new}", &masked(&i.bank_card))
                } else {
                    String::new()
                },
            })
            .collect(),
        can_approve: manage && batch.state == BatchState::Built && batch.built_by != me,
        can_export: manage && matches!(batch.state, BatchState::Approved | BatchState::Exported | BatchState::Closed),
        can_cancel: manage && matches!(batch.state, BatchState::Built | BatchState::Approved),
        can_import: manage && batch.state == BatchState::Exported,
        batch,
        notice: notice(lang, done),
        errors: errors.clone(),
        zh: lang == Lang::Zh,
    };
    render_form(&page, !errors.is_empty())
}

/// `GET /payments/batches/{id}`.
pub async fn batch_page(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(ask): Query<DoneAsk>,
) -> Result<Response, AppError> {
    show_batch(&state, &caller, id, &ask.done, Vec::new()).await
}

async fn step(state: SharedState, caller: Caller, id: i64, csrf: &str, step: BatchStep) -> Result<Response, AppError> {
    caller.check_csrf(csrf)?;
    let done = match step {
        BatchStep::Approve => "batch_approved",
        BatchStep::Cancel => "batch_cancelled",
    };
    match svc::batch_step(&state.store, &caller, id, step).await {
        Ok(_) => Ok(Redirect::to(&format!("/payments/batches/{id}?done={done}")).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_batch(&state, &caller, id, "", m)).await,
    }
}

/// `POST /payments/batches/{id}/approve`: four eyes.
pub async fn batch_approve(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    step(state, caller, id, &f.csrf, BatchStep::Approve).await
}

/// `POST /payments/batches/{id}/cancel`.
pub async fn batch_cancel(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let (action, back) = (format!("/payments/batches/{id}/cancel"), format!("/payments/batches/{id}"));
    if let Some(ask) = super::shared::confirmed_or_ask(&caller, &f.confirmed, "cancel_batch", &action, &[], &back) {
        return ask;
    }
    step(state, caller, id, &f.csrf, BatchStep::Cancel).await
}

/// `POST /payments/batches/{id}/export`: the bank file, downloaded (again: the same file).
pub async fn batch_export(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    match svc::export(&state.store, &caller, id).await {
        Ok(file) => {
            let disposition = format!("attachment; filename=\"{}\"", file.file_name());
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                file.to_csv(),
            )
                .into_response())
        }
        Err(e) => or_show(e, caller.lang, |m| show_batch(&state, &caller, id, "", m)).await,
    }
}

/// `POST /payments/batches/{id}/results`: the bank's result file for this batch.
pub async fn batch_results(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    FormWithFile { form: f, file }: FormWithFile<CsrfOnly>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = async {
        let file = required_file(file)?;
        let (batch, _) = svc::batch(&state.store, &caller, id).await?;
        // A file answering another batch is refused here rather than imported elsewhere.
        if let Ok(parsed) = yibao_core::payment::ResultFile::parse(&file.bytes) {
            if parsed.batch_no != batch.number {
                return Err(AppError::validation(vec![InvalidValue::new(
                    "file",
                    "other_batch",
                    format!("回盘文件属于批次 {}，不是本批次 {}", parsed.batch_no, batch.number),
                    format!("the result file answers batch {}, not this batch {}", parsed.batch_no, batch.number),
                )]));
            }
        }
        svc::import_results(&state.store, &caller, &file.bytes).await
    }
    .await;
    match result {
        Ok(summary) => {
            let done = if summary.paid + summary.failed == 0 { "results_again" } else { "results_imported" };
            Ok(Redirect::to(&format!("/payments/batches/{id}?done={done}")).into_response())
        }
        Err(e) => or_show(e, caller.lang, |m| show_batch(&state, &caller, id, "", m)).await,
    }
}
