//! 个人账户支取 in the portal: the clerk records a withdrawal at the window from the person's
//! page (the papers its reason needs, ticked as seen; the heir after a death); finance reads
//! the requests waiting and decides each on its page; the holder reads their own.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use yibao_core::contribution::withdrawal::WithdrawalReason;
use yibao_core::payment::OrderState;
use yibao_core::{BankCardNumber, Lang, Permission};
use yibao_store::{Store, Withdrawal};

use super::shared::{notice, or_show, when};
use super::{render_form, Ctx, DoneAsk};
use crate::api::withdrawals::{HeirForm, WithdrawalForm};
use crate::context::Caller;
use crate::error::AppError;
use crate::{i18n, service, SharedState};

/// A withdrawal as the lists show it.
pub struct Row {
    pub id: i64,
    pub number: String,
    pub person: String,
    pub reason: String,
    pub amount: String,
    pub state: String,
    pub state_code: String,
    pub requested_at: String,
}

fn state_label(lang: Lang, state: &str) -> String {
    i18n::t(lang, &format!("wd.state.{state}")).to_string()
}

pub(super) fn row(lang: Lang, w: &Withdrawal) -> Row {
    let amount = match (w.amount, w.requested) {
        (Some(a), _) | (None, Some(a)) => a.to_grouped(),
        (None, None) => i18n::t(lang, "wd.whole_balance").to_string(),
    };
    Row {
        id: w.id,
        number: w.number.clone(),
        person: w.person_name.clone(),
        reason: w.reason.label().get(lang).to_string(),
        amount,
        state: state_label(lang, &w.state),
        state_code: w.state.clone(),
        requested_at: when(&w.requested_at),
    }
}

/// The name of whoever an audit label names: staff by their display name (to staff), or
/// 「医保经办人员」 to anyone else.
async fn who(store: &Store, caller: &Caller, label: &str) -> String {
    super::shared::Names::new(store, caller).of(label).await
}

/// (reason code, reason label, its papers as (code, name))
type ReasonPapers = (String, String, Vec<(String, String)>);

#[derive(Template)]
#[template(path = "withdrawals_person.html")]
struct PersonPage {
    ctx: Ctx,
    person_id: i64,
    person_name: String,
    balance: String,
    reasons: Vec<ReasonPapers>,
    rows: Vec<Row>,
    can_request: bool,
    errors: Vec<String>,
    notice: Option<String>,
}

async fn show_person(
    state: &SharedState,
    caller: &Caller,
    id: i64,
    done: &str,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let lang = caller.lang;
    let list = service::withdrawals::of_person(&state.store, caller, id).await?;
    let person = state.store.person(id).await?;
    let balance = state.store.individual_account(id).await?.map(|a| a.balance);
    let page = PersonPage {
        ctx: Ctx::for_caller(caller, "/persons"),
        person_id: id,
        person_name: person.name.to_string(),
        balance: balance.map(|b| b.to_grouped()).unwrap_or_else(|| i18n::t(lang, "wd.no_account").to_string()),
        reasons: WithdrawalReason::ALL
            .iter()
            .map(|r| {
                let papers = r.papers().into_iter().map(|(c, n)| (c.to_string(), n.get(lang).to_string())).collect();
                (r.code().to_string(), r.label().get(lang).to_string(), papers)
            })
            .collect(),
        rows: list.iter().map(|w| row(lang, w)).collect(),
        can_request: caller.can(Permission::EditPersons) && balance.is_some(),
        errors: errors.clone(),
        notice: notice(lang, done),
    };
    render_form(&page, !errors.is_empty())
}

/// `GET /persons/{id}/withdrawals`: the person's withdrawals and (a clerk) the form.
pub async fn person_withdrawals(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<DoneAsk>,
) -> Result<Response, AppError> {
    show_person(&state, &caller, id, &q.done, Vec::new()).await
}

/// The clerk's form: the reason, the amount (at the window), the papers seen (one checkbox
/// per paper of every reason: `paper_{reason}_{code}`), and the heir after a death.
#[derive(Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    amount: String,
    #[serde(flatten)]
    rest: std::collections::HashMap<String, String>,
}

impl RequestForm {
    fn api(&self) -> WithdrawalForm {
        let prefix = format!("paper_{}_", self.reason.trim());
        let papers = self.rest.keys().filter_map(|k| k.strip_prefix(&prefix)).map(str::to_string).collect();
        let field = |k: &str| self.rest.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
        let heir = (self.reason.trim() == WithdrawalReason::Death.code()).then(|| HeirForm {
            name: field("heir_name"),
            resident_id: field("heir_resident_id"),
            bank_name: field("heir_bank_name"),
            bank_card: field("heir_bank_card"),
        });
        WithdrawalForm { reason: self.reason.clone(), amount: Some(self.amount.clone()), papers, heir }
    }
}

/// `POST /persons/{id}/withdrawals`: a clerk records the request.
pub async fn person_withdrawal_request(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<RequestForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let done = async {
        let req = f.api().read()?;
        service::withdrawals::request(&state.store, &caller, id, &req).await
    }
    .await;
    match done {
        Ok(w) => Ok(Redirect::to(&format!("/withdrawals/{}?done=withdrawal_requested", w.id)).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_person(&state, &caller, id, "", m)).await,
    }
}

#[derive(Template)]
#[template(path = "withdrawals.html")]
struct WaitingPage {
    ctx: Ctx,
    rows: Vec<Row>,
}

/// `GET /withdrawals`: the requests of the caller's regions waiting for a decision.
pub async fn withdrawals_page(State(state): State<SharedState>, caller: Caller) -> Result<Response, AppError> {
    let list = service::withdrawals::waiting(&state.store, &caller).await?;
    let page = WaitingPage {
        ctx: Ctx::for_caller(&caller, "/withdrawals"),
        rows: list.iter().map(|w| row(caller.lang, w)).collect(),
    };
    render_form(&page, false)
}

#[derive(Template)]
#[template(path = "withdrawal.html")]
struct DetailPage {
    ctx: Ctx,
    w: Row,
    version: i64,
    /// The person's withdrawals page, for staff.
    person_link: Option<String>,
    papers: Vec<String>,
    heir: Option<(String, String, String)>,
    requested_by: String,
    decided: Option<(String, String)>,
    note: String,
    /// (order number, state, account)
    order: Option<(String, String, String)>,
    /// The order waits for an account (none, or the bank refused it) and the caller may give one.
    can_give_account: bool,
    /// The order's version, when an account a clerk gave waits for the caller's confirmation.
    confirm_version: Option<i64>,
    can_decide: bool,
    errors: Vec<String>,
    notice: Option<String>,
}

async fn show_one(
    state: &SharedState,
    caller: &Caller,
    id: i64,
    done: &str,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let lang = caller.lang;
    let w = service::withdrawals::one(&state.store, caller, id).await?;
    let stored = state.store.payment_of_withdrawal(w.id).await?;
    let own = caller.session().and_then(|s| s.account.person_id) == Some(w.person_id);
    let may_give = caller.can(Permission::EditPersons) || (own && !w.reason.to_heir());
    let open = |o: &yibao_store::PaymentOrder| {
        matches!(o.state, OrderState::AwaitingAccount | OrderState::Failed | OrderState::Ready)
    };
    let can_give_account = may_give && stored.as_ref().is_some_and(open);
    let confirm_version = stored
        .as_ref()
        .filter(|o| may_give && open(o))
        .filter(|o| o.account_unconfirmed_by.as_deref().is_some_and(|by| by != caller.username()))
        .map(|o| o.version);
    let order = stored.map(|o| {
        let card = o.bank_card.as_ref().map(BankCardNumber::masked).unwrap_or_default();
        (o.number.clone(), o.state.label().get(lang).to_string(), format!("{} {card}", o.account_name))
    });
    let decided = match (&w.decided_by, &w.decided_at) {
        (Some(by), Some(at)) => Some((who(&state.store, caller, by).await, when(at))),
        _ => None,
    };
    let page = DetailPage {
        ctx: Ctx::for_caller(caller, if caller.role().is_staff() { "/withdrawals" } else { "/my/account" }),
        w: row(lang, &w),
        version: w.version,
        person_link: caller.role().is_staff().then(|| format!("/persons/{}/withdrawals", w.person_id)),
        papers: w.paper_names().iter().map(|t| t.get(lang).to_string()).collect(),
        heir: w.heir_name.as_ref().map(|n| {
            let card = w.heir_bank_card.as_ref().map(BankCardNumber::masked).unwrap_or_default();
            (n.clone(), w.heir_bank_name.clone().unwrap_or_default(), card)
        }),
        requested_by: format!("{} {}", who(&state.store, caller, &w.requested_by).await, when(&w.requested_at)),
        decided,
        note: w.note.clone().unwrap_or_default(),
        order,
        can_give_account,
        confirm_version,
        can_decide: w.state == "requested" && caller.can(Permission::ManagePayments),
        errors: errors.clone(),
        notice: notice(lang, done),
    };
    render_form(&page, !errors.is_empty())
}

/// `GET /withdrawals/{id}`.
pub async fn withdrawal_page(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<DoneAsk>,
) -> Result<Response, AppError> {
    show_one(&state, &caller, id, &q.done, Vec::new()).await
}

#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: i64,
    /// `approve` or `reject`.
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

/// `POST /withdrawals/{id}/decision`: finance approves or refuses.
pub async fn withdrawal_decide(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<DecideForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let approve = f.decision == "approve";
    match service::withdrawals::decide(&state.store, &caller, id, f.version, approve, &f.note).await {
        Ok(_) => Ok(Redirect::to(&format!("/withdrawals/{id}?done=withdrawal_decided")).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_one(&state, &caller, id, "", m)).await,
    }
}

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    bank_name: String,
    #[serde(default)]
    bank_card: String,
    /// Set to confirm the account a clerk gave, at this version.
    #[serde(default)]
    confirm_version: Option<i64>,
}

/// `POST /withdrawals/{id}/account`: the holder (or a clerk) gives the account the withdrawal
/// is paid to, or confirms the one a clerk gave.
pub async fn withdrawal_account(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<AccountForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let done = async {
        match f.confirm_version {
            Some(version) => service::withdrawals::confirm_account(&state.store, &caller, id, version).await,
            None => {
                let card: BankCardNumber = f.bank_card.trim().parse().map_err(|e| AppError::validation(vec![e]))?;
                service::withdrawals::give_account(&state.store, &caller, id, &f.bank_name, &card).await
            }
        }
    }
    .await;
    match done {
        Ok(_) => Ok(Redirect::to(&format!("/withdrawals/{id}?done=payment_account")).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_one(&state, &caller, id, "", m)).await,
    }
}
