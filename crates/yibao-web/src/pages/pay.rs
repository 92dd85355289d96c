//! 医保网上缴费 without an account (seed 002): the ID number and the name → what is due and what
//! it buys → the gateway's pay page → the receipt (电子缴费凭证), which says paid only when the
//! gateway's verified notification has come.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;
use yibao_core::{Lang, Text};
use yibao_store::{OnlineOrder, Person, Purchase};

use super::form_messages;
use super::{render, Ctx};
use crate::context::{Client, UiLang};
use crate::error::AppError;
use crate::{i18n, service, SharedState};

const PAY_COOKIE: &str = "yb_pay";

/// A token for the pay forms, kept in a cookie of the pay pages (there is no session).
fn pay_token(secure: bool) -> (String, Cookie<'static>) {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    let token = hex::encode(bytes);
    let cookie = Cookie::build((PAY_COOKIE, token.clone()))
        .path("/pay")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .build();
    (token, cookie)
}

fn check_token(jar: &CookieJar, token: &str) -> Result<(), AppError> {
    match jar.get(PAY_COOKIE) {
        Some(c) if !token.is_empty() && c.value() == token => Ok(()),
        _ => Err(AppError::csrf()),
    }
}

#[derive(Template)]
#[template(path = "pay_start.html")]
struct StartPage {
    ctx: Ctx,
    csrf: String,
    resident_id: String,
    name: String,
    errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "pay_due.html")]
struct DuePage {
    ctx: Ctx,
    csrf: String,
    resident_id: String,
    name: String,
    masked_name: String,
    flexible: bool,
    /// (percent, the month's amount) of each base to choose.
    bases: Vec<(u32, String)>,
    months_left: Vec<u32>,
    /// A resident's: what the year buys, the own part and the subsidy.
    buys: String,
    amount: String,
    subsidy: String,
    /// The first day covered after paying, where cover waits.
    waits_until: String,
    errors: Vec<String>,
}

#[derive(Deserialize, Default)]
pub struct PayForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    resident_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    percent: u32,
    #[serde(default)]
    months: u32,
}

fn masked(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count())),
        None => String::new(),
    }
}

/// `GET /pay`
pub async fn pay_start(State(state): State<SharedState>, UiLang(lang): UiLang, jar: CookieJar) -> Response {
    let (csrf, cookie) = pay_token(state.secure_cookies);
    let page = StartPage {
        ctx: Ctx::anonymous(lang, "/pay"),
        csrf,
        resident_id: String::new(),
        name: String::new(),
        errors: Vec::new(),
    };
    (jar.add(cookie), render(&page)).into_response()
}

async fn due_page(
    state: &SharedState,
    lang: Lang,
    csrf: String,
    f: &PayForm,
    person: &Person,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let today = state.today.unwrap_or_else(crate::context::china_today);
    let flexible = person.enrolment == yibao_core::registry::Enrolment::FlexibleEmployment;
    let mut page = DuePage {
        ctx: Ctx::anonymous(lang, "/pay"),
        csrf,
        resident_id: f.resident_id.trim().to_string(),
        name: f.name.trim().to_string(),
        masked_name: masked(&person.name.to_string()),
        flexible,
        bases: Vec::new(),
        months_left: Vec::new(),
        buys: String::new(),
        amount: String::new(),
        subsidy: String::new(),
        waits_until: String::new(),
        errors,
    };
    if flexible {
        let rules = state.store.contribution_rules(person.insured_region, chrono::Datelike::year(&today)).await?;
        let Some(rules) = rules else {
            page.errors.push(i18n::t(lang, "online.no_rules").to_string());
            return Ok(render(&page)?.into_response());
        };
        page.bases = rules
            .flexible
            .base_percents
            .iter()
            .filter_map(|p| rules.flexible_bill(*p).map(|b| (*p, b.employee.to_grouped())))
            .collect();
        let first =
            state.store.payment_due(person, &Purchase::Flexible { percent: page.bases[0].0, months: 12 }, today).await;
        match first {
            Ok(due) => {
                page.months_left = (1..=due.months.len() as u32).collect();
                page.waits_until = due.waits_until.map(|d| d.to_string()).unwrap_or_default();
            }
            Err(e) => page.errors.extend(form_messages(&AppError::from(e), lang).unwrap_or_default()),
        }
    } else {
        match state.store.payment_due(person, &Purchase::Resident, today).await {
            Ok(due) => {
                page.buys = due.buys().get(lang).to_string();
                page.amount = due.amount.to_grouped();
                page.subsidy = due.subsidy.to_grouped();
                page.waits_until = due.waits_until.map(|d| d.to_string()).unwrap_or_default();
            }
            Err(e) => page.errors.extend(form_messages(&AppError::from(e), lang).unwrap_or_default()),
        }
    }
    Ok(render(&page)?.into_response())
}

/// `POST /pay`: the ID number and the name; what is due.
pub async fn pay_lookup(
    State(state): State<SharedState>,
    UiLang(lang): UiLang,
    client: Client,
    jar: CookieJar,
    Form(f): Form<PayForm>,
) -> Result<Response, AppError> {
    check_token(&jar, &f.csrf)?;
    match service::pay::lookup(&state, &client, &f.resident_id, &f.name).await {
        Ok(person) => due_page(&state, lang, f.csrf.clone(), &f, &person, Vec::new()).await,
        Err(e) => {
            let page = StartPage {
                ctx: Ctx::anonymous(lang, "/pay"),
                csrf: f.csrf.clone(),
                resident_id: f.resident_id.trim().to_string(),
                name: f.name.trim().to_string(),
                errors: form_messages(&e, lang).ok_or(e)?,
            };
            Ok(render(&page)?.into_response())
        }
    }
}

/// `POST /pay/orders`: the order for what was chosen; on to the gateway's pay page.
pub async fn pay_order(
    State(state): State<SharedState>,
    UiLang(lang): UiLang,
    client: Client,
    jar: CookieJar,
    Form(f): Form<PayForm>,
) -> Result<Response, AppError> {
    check_token(&jar, &f.csrf)?;
    let person = service::pay::lookup(&state, &client, &f.resident_id, &f.name).await?;
    let purchase = match person.enrolment {
        yibao_core::registry::Enrolment::FlexibleEmployment => {
            Purchase::Flexible { percent: f.percent, months: f.months.max(1) }
        }
        _ => Purchase::Resident,
    };
    let today = state.today.unwrap_or_else(crate::context::china_today);
    match service::pay::order(&state, &person, &purchase, today).await {
        Ok((_, url)) => Ok(Redirect::to(&url).into_response()),
        Err(e) => {
            let errors = form_messages(&e, lang).ok_or(e)?;
            due_page(&state, lang, f.csrf.clone(), &f, &person, errors).await
        }
    }
}

#[derive(Deserialize, Default)]
pub struct KeyAsk {
    #[serde(default)]
    key: String,
}

#[derive(Template)]
#[template(path = "pay_sim.html")]
struct SimPage {
    ctx: Ctx,
    order_no: String,
    key: String,
    buys: String,
    amount: String,
}

/// `GET /sim-pay/{order}`: the simulated gateway's own pay page.
pub async fn sim_page(
    State(state): State<SharedState>,
    UiLang(lang): UiLang,
    Path(order_no): Path<String>,
    Query(q): Query<KeyAsk>,
) -> Result<Response, AppError> {
    let order = service::pay::order_for(&state, &order_no, &q.key).await?;
    if service::pay::gateway(&state)?.name() != "sim" {
        return Err(AppError::not_found("order"));
    }
    let page = SimPage {
        ctx: Ctx::anonymous(lang, "/sim-pay"),
        order_no,
        key: q.key,
        buys: order.buys().get(lang).to_string(),
        amount: order.amount.to_grouped(),
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct SimForm {
    key: String,
    /// `pay` or `cancel`.
    action: String,
}

/// `POST /sim-pay/{order}`: the simulated payer pays (or cancels); the simulator sends its
/// signed notification on its own, a moment later, and the browser returns to the receipt.
pub async fn sim_pay(
    State(state): State<SharedState>,
    Path(order_no): Path<String>,
    Form(f): Form<SimForm>,
) -> Result<Response, AppError> {
    let order = service::pay::order_for(&state, &order_no, &f.key).await?;
    let gateway = service::pay::gateway(&state)?;
    if order.state != "pending" {
        // A closed or paid order is not paid again.
        return Ok(Redirect::to(&format!("/pay/orders/{order_no}?key={}", f.key)).into_response());
    }
    if let Some((signature, body)) = gateway.simulate(&order, f.action == "pay") {
        let state = state.clone();
        tokio::spawn(async move {
            let mut headers = axum::http::HeaderMap::new();
            if let Ok(v) = signature.parse() {
                headers.insert(crate::gateway::SIM_SIGNATURE, v);
            }
            let today = state.today.unwrap_or_else(crate::context::china_today);
            if let Err(e) = service::pay::notify(&state, "sim", &headers, &body, today).await {
                tracing::warn!(error = ?e, "the simulator's notification failed");
            }
        });
    }
    Ok(Redirect::to(&format!("/pay/orders/{order_no}?key={}", f.key)).into_response())
}

#[derive(Template)]
#[template(path = "pay_receipt.html")]
struct ReceiptPage {
    ctx: Ctx,
    o: OnlineOrder,
    masked_name: String,
    buys: String,
    paid: bool,
    state: Text,
    paper: super::papers::PaperHead,
}

/// `GET /pay/orders/{order}`: the receipt (电子缴费凭证) once paid; until then, waiting for the
/// gateway (the page looks again by itself).
pub async fn pay_receipt(
    State(state): State<SharedState>,
    UiLang(lang): UiLang,
    Path(order_no): Path<String>,
    Query(q): Query<KeyAsk>,
) -> Result<Response, AppError> {
    let o = service::pay::order_for(&state, &order_no, &q.key).await?;
    let paid = o.state == "paid";
    let state_text = match o.state.as_str() {
        "paid" => Text::new("缴费成功", "Paid"),
        "closed" => Text::new("已关闭（已重新下单）", "Closed (a newer order replaced it)"),
        "refund_due" => Text::new(
            "所缴月份已由另一笔缴费缴清，本笔款项将原路退回",
            "the months were paid by another payment: this one will be returned",
        ),
        _ => Text::new("正在确认支付结果……", "Waiting for the payment's confirmation…"),
    };
    let region = Some(state.store.person(o.person_id).await?.insured_region);
    let paper = super::papers::PaperHead::new(lang, region, "paper.pay_receipt", &o.order_no);
    let page = ReceiptPage {
        paper,
        ctx: Ctx::anonymous(lang, "/pay"),
        masked_name: masked(&o.person_name),
        buys: o.buys().get(lang).to_string(),
        paid,
        state: state_text,
        o,
    };
    Ok(render(&page)?.into_response())
}
