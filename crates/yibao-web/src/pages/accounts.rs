//! 我的个人账户: the balance and every entry (what it was, where it came from), the family
//! members authorised under 门诊共济 with what they bought, and the form to authorise one.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use yibao_core::{InvalidValue, Lang};
use yibao_store::{AccountEntry, Relation};

use super::shared::{choices, notice, or_show, when, Choice};
use super::{render_form, Ctx, DoneAsk};
use crate::context::Caller;
use crate::error::AppError;
use crate::{i18n, service, SharedState};

pub struct EntryRow {
    pub at: String,
    pub kind: String,
    pub amount: String,
    pub credit: bool,
    pub balance_after: String,
    pub what: String,
}

pub struct MemberRow {
    pub id: i64,
    pub name: String,
    pub resident_id: String,
    pub relation: String,
    pub granted_at: String,
    pub revoked_at: String,
}

#[derive(Template)]
#[template(path = "my_account.html")]
struct MyAccountPage {
    ctx: Ctx,
    has_account: bool,
    balance: String,
    entries: Vec<EntryRow>,
    family: Vec<MemberRow>,
    /// (when, member, pharmacy receipt, what the account paid)
    uses: Vec<(String, String, String, String)>,
    /// Holders whose account the caller may use: (name, relation)
    may_use: Vec<(String, String)>,
    relations: Vec<Choice>,
    withdrawals: Vec<super::withdrawals::Row>,
    errors: Vec<String>,
    notice: Option<String>,
}

fn kind_label(lang: Lang, kind: &str) -> String {
    i18n::lookup(lang, &format!("acct.kind.{kind}")).map_or_else(|| kind.to_string(), str::to_string)
}

fn entry_row(lang: Lang, e: &AccountEntry) -> EntryRow {
    let what = match (&e.note, &e.setl_id, &e.credit_month) {
        (Some(n), _, Some(m)) => format!("{m}：{}", n.get(lang)),
        (Some(n), _, None) => n.get(lang).to_string(),
        (None, Some(s), _) => s.clone(),
        (None, None, _) => String::new(),
    };
    EntryRow {
        at: when(&e.at),
        kind: kind_label(lang, &e.kind),
        amount: e.amount.to_grouped(),
        credit: !e.amount.is_negative(),
        balance_after: e.balance_after.to_grouped(),
        what,
    }
}

async fn show(state: &SharedState, caller: &Caller, done: &str, errors: Vec<String>) -> Result<Response, AppError> {
    let lang = caller.lang;
    let mine = service::accounts::my_account(&state.store, caller).await?;
    let page = MyAccountPage {
        ctx: Ctx::for_caller(caller, "/my/account"),
        has_account: mine.account.is_some(),
        balance: mine.account.as_ref().map(|a| a.balance.to_grouped()).unwrap_or_default(),
        entries: mine.account.iter().flat_map(|a| a.entries.iter().rev()).map(|e| entry_row(lang, e)).collect(),
        family: mine
            .family
            .iter()
            .map(|f| MemberRow {
                id: f.id,
                name: f.member_name.clone(),
                resident_id: f.member_resident_id.clone(),
                relation: f.relation.label().get(lang).to_string(),
                granted_at: when(&f.granted_at),
                revoked_at: f.revoked_at.as_deref().map(when).unwrap_or_default(),
            })
            .collect(),
        uses: mine
            .family_uses
            .iter()
            .map(|p| {
                let status = if p.status == "reversed" { i18n::t(lang, "acct.reversed") } else { "" };
                (
                    p.settled_at.chars().take(16).collect(),
                    p.person_name.clone(),
                    p.invono.clone(),
                    format!("{}{status}", p.split.acct_mulaid_pay.to_grouped()),
                )
            })
            .collect(),
        may_use: mine
            .may_use
            .iter()
            .map(|f| (f.holder_name.clone(), f.relation.label().get(lang).to_string()))
            .collect(),
        relations: choices(
            &[Relation::Spouse, Relation::Parent, Relation::Child],
            Relation::code,
            Relation::label,
            lang,
        ),
        withdrawals: mine.withdrawals.iter().map(|w| super::withdrawals::row(lang, w)).collect(),
        errors: errors.clone(),
        notice: notice(lang, done),
    };
    render_form(&page, !errors.is_empty())
}

/// `GET /my/account`.
pub async fn my_account(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<DoneAsk>,
) -> Result<Response, AppError> {
    show(&state, &caller, &ask.done, Vec::new()).await
}

#[derive(Deserialize)]
pub struct FamilyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    member_id: String,
    #[serde(default)]
    member_name: String,
    #[serde(default)]
    relation: String,
}

/// `POST /my/family`: authorise a family member.
pub async fn my_family_authorise(
    State(state): State<SharedState>,
    caller: Caller,
    Form(f): Form<FamilyForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = async {
        let rid = f.member_id.trim().parse().map_err(|mut e: InvalidValue| {
            e.field = "member_id";
            AppError::validation(vec![e])
        })?;
        let relation = Relation::parse(&f.relation).map_err(|e| AppError::validation(vec![e]))?;
        service::accounts::authorise(&state.store, &caller, &rid, &f.member_name, relation).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/my/account?done=family_authorised").into_response()),
        Err(e) => or_show(e, caller.lang, |m| show(&state, &caller, "", m)).await,
    }
}

/// `POST /my/family/{id}/revoke`.
pub async fn my_family_revoke(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<super::auth::CsrfOnly>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let action = format!("/my/family/{id}/revoke");
    if let Some(ask) =
        super::shared::confirmed_or_ask(&caller, &f.confirmed, "revoke_family", &action, &[], "/my/account")
    {
        return ask;
    }
    match service::accounts::revoke(&state.store, &caller, id).await {
        Ok(_) => Ok(Redirect::to("/my/account?done=family_revoked").into_response()),
        Err(e) => or_show(e, caller.lang, |m| show(&state, &caller, "", m)).await,
    }
}
