//! 基金账 in the portal, for finance and auditors: whether the books balance and agree with
//! the records (every difference named), each fund's balances, the monthly figures with the
//! months of expenditure the balance covers (downloadable as a workbook), what each
//! institution was cleared, and (finance) closing a month.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use yibao_core::clearing::ClearingState;
use yibao_core::{Fen, Permission};

use super::shared::{notice, or_show, when};
use super::{render_form, Ctx, DoneAsk};
use crate::context::Caller;
use crate::error::AppError;
use crate::{service, SharedState};

#[derive(Template)]
#[template(path = "books.html")]
struct BooksPage {
    ctx: Ctx,
    clean: bool,
    entries: i64,
    differences: Vec<String>,
    /// (fund, [(account, amount)])
    funds: Vec<(String, Vec<(String, String)>)>,
    /// (fund, month, income, expenditure, balance, months covered)
    months: Vec<(String, String, String, String, String, String)>,
    /// (institution, clearings, gross, deducted, deposit, net)
    clearings: Vec<(String, usize, String, String, String, String)>,
    closed: Vec<(String, String)>,
    can_close: bool,
    errors: Vec<String>,
    notice: Option<String>,
}

async fn show(state: &SharedState, caller: &Caller, done: &str, errors: Vec<String>) -> Result<Response, AppError> {
    let lang = caller.lang;
    let store = &state.store;
    let check = service::books::check(store, caller).await?;
    let mut funds: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for (fund, account, amount) in &check.balances {
        let label = fund.label().get(lang).to_string();
        if funds.last().is_none_or(|(f, _)| *f != label) {
            funds.push((label, Vec::new()));
        }
        if let Some((_, rows)) = funds.last_mut() {
            rows.push((account.label().get(lang).to_string(), amount.to_grouped()));
        }
    }
    let months = service::books::months(store, caller)
        .await?
        .iter()
        .rev()
        .map(|m| {
            (
                m.fund.label().get(lang).to_string(),
                m.month.clone(),
                m.income.to_grouped(),
                m.expenditure.to_grouped(),
                m.balance.to_grouped(),
                m.months_covered(),
            )
        })
        .collect();
    let mut by_inst: BTreeMap<String, (usize, Fen, Fen, Fen, Fen)> = BTreeMap::new();
    for c in service::clearing::list(store, caller).await? {
        if c.state != ClearingState::Approved {
            continue;
        }
        let e = by_inst.entry(c.institution_name.clone()).or_insert((0, Fen::ZERO, Fen::ZERO, Fen::ZERO, Fen::ZERO));
        let s = &c.statement;
        *e = (
            e.0 + 1,
            e.1.saturating_add(s.gross),
            e.2.saturating_add(s.deducted),
            e.3.saturating_add(s.deposit),
            e.4.saturating_add(s.net),
        );
    }
    let clearings = by_inst
        .into_iter()
        .map(|(name, (n, g, d, dep, net))| {
            (name, n, g.to_grouped(), d.to_grouped(), dep.to_grouped(), net.to_grouped())
        })
        .collect();
    let closed = store.closed_months().await?.into_iter().map(|(m, _, at)| (m, when(&at))).collect();
    let page = BooksPage {
        ctx: Ctx::for_caller(caller, "/books"),
        clean: check.clean(),
        entries: check.entries,
        differences: check.differences.iter().map(|d| d.get(lang).to_string()).collect(),
        funds,
        months,
        clearings,
        closed,
        can_close: caller.can(Permission::ManagePayments),
        errors: errors.clone(),
        notice: notice(lang, done),
    };
    render_form(&page, !errors.is_empty())
}

/// `GET /books`.
pub async fn books_page(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<DoneAsk>,
) -> Result<Response, AppError> {
    show(&state, &caller, &q.done, Vec::new()).await
}

#[derive(Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    month: String,
}

/// `POST /books/close`: finance closes a month.
pub async fn books_close(
    State(state): State<SharedState>,
    caller: Caller,
    Form(f): Form<CloseForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let done = async {
        let month = f.month.trim().parse().map_err(|e| AppError::validation(vec![e]))?;
        service::books::close(&state.store, &caller, month).await
    }
    .await;
    match done {
        Ok(()) => Ok(Redirect::to("/books?done=month_closed").into_response()),
        Err(e) => or_show(e, caller.lang, |m| show(&state, &caller, "", m)).await,
    }
}
