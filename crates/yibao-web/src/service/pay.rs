//! Online payment (网上缴费) without an account, as seed 002 walks it: the ID number and the
//! name, then what is due and what it buys, then the gateway's pay page; the order is paid
//! when the gateway's verified notification says so, and the payer reads the receipt.

use yibao_core::{InvalidValue, ResidentId};
use yibao_store::{NoticeOutcome, OnlineOrder, Person, Purchase};

use crate::context::Client;
use crate::error::AppError;
use crate::SharedState;

fn no_match() -> AppError {
    AppError::validation(vec![InvalidValue::new(
        "resident_id",
        "no_match",
        "身份证号码与姓名不符，或该人员不需要网上缴费（单位职工由单位缴纳）",
        "the ID number and the name do not match, or the person does not pay online (a unit pays for its employees)",
    )])
}

/// The person an ID number and a name name, if they match and the person pays online;
/// throttled per ID number and address like a log-in, and answered alike for a wrong name, an
/// unknown number and someone who does not pay online.
pub async fn lookup(state: &SharedState, client: &Client, resident_id: &str, name: &str) -> Result<Person, AppError> {
    let rid: ResidentId = resident_id.trim().parse()?;
    let key = format!("pay:{rid}");
    let now = std::time::Instant::now();
    let Some(attempt) = state.logins.begin(&key, client.address, now) else { return Err(no_match()) };
    let person = state.store.person_by_resident_id(&rid).await?;
    match person {
        Some(p)
            if p.name.to_string() == name.trim()
                && p.enrolment.pays_own_contributions()
                && p.status == yibao_core::registry::PersonStatus::Active =>
        {
            state.logins.succeeded(attempt, now);
            Ok(p)
        }
        _ => Err(no_match()),
    }
}

/// The gateway online payments go through, or why there is none.
pub fn gateway(state: &SharedState) -> Result<&std::sync::Arc<dyn crate::gateway::PaymentGateway>, AppError> {
    state.gateway.as_ref().ok_or_else(|| {
        AppError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "no_gateway",
            "网上缴费暂未开通，请到经办机构窗口或税务渠道缴费",
            "paying online is not available here: pay at the agency's window or through the tax authority",
        )
    })
}

/// Creates the order and returns it with the gateway's pay page.
pub async fn order(
    state: &SharedState,
    person: &Person,
    purchase: &Purchase,
    today: chrono::NaiveDate,
) -> Result<(OnlineOrder, String), AppError> {
    let actor = yibao_store::Actor::system(&format!("online:{}", person.resident_id.masked()));
    let mut w = state.store.begin_write(&actor).await?;
    let gateway = gateway(state)?;
    let order = state.store.create_online_order(&mut w, person, purchase, gateway.name(), today).await?;
    w.commit().await?;
    let url = gateway.pay_url(&order);
    Ok((order, url))
}

/// A notification as the gateway sent it: verified, then processed once.
pub async fn notify(
    state: &SharedState,
    gateway: &str,
    headers: &axum::http::HeaderMap,
    body: &[u8],
    today: chrono::NaiveDate,
) -> Result<NoticeOutcome, AppError> {
    let configured =
        state.gateway.as_ref().filter(|g| g.name() == gateway).ok_or_else(|| AppError::not_found("gateway"))?;
    let notice = configured.verify(headers, body).map_err(|e| {
        tracing::warn!(gateway, reason = %e.0.en, "payment notification refused");
        AppError::new(axum::http::StatusCode::UNAUTHORIZED, "bad_signature", &e.0.zh, &e.0.en)
    })?;
    let mut w = state.store.begin_write(&yibao_store::Actor::system(&format!("gateway:{gateway}"))).await?;
    let outcome = state.store.process_payment_notice(&mut w, gateway, &notice, today).await?;
    w.commit().await?;
    if outcome != NoticeOutcome::Paid {
        tracing::warn!(gateway, order = %notice.order_no, ?outcome, "payment notification changed nothing");
    }
    Ok(outcome)
}

/// An order for its payer: the receipt link's key must match.
pub async fn order_for(state: &SharedState, order_no: &str, key: &str) -> Result<OnlineOrder, AppError> {
    let order = state.store.online_order(order_no).await.map_err(|_| AppError::not_found("order"))?;
    let same = order.view_key.len() == key.len()
        && order.view_key.bytes().zip(key.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !same {
        return Err(AppError::not_found("order"));
    }
    Ok(order)
}
