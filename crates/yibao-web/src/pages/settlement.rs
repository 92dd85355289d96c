//! Settlements in the portal: the insured person's 「我的结算」 (with the individual account),
//! staff's view of a person's settlements, and the printable settlement list (医保结算清单).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use yibao_core::settlement::SettlementList;
use yibao_core::{Lang, Permission};
use yibao_store::{IndividualAccount, Settlement, SettlementStatus};

use super::{render, Ctx};
use crate::context::Caller;
use crate::error::AppError;
use crate::service::settlement as svc;
use crate::{i18n, SharedState};

pub(super) struct SettlementRow {
    pub(super) setl_id: String,
    pub(super) setl_time: String,
    pub(super) institution: String,
    pub(super) psn_name: String,
    pub(super) medfee: String,
    pub(super) fund: String,
    pub(super) acct: String,
    pub(super) cash: String,
    pub(super) status: &'static str,
    pub(super) reversed: bool,
}

impl SettlementRow {
    pub(super) fn new(s: &Settlement, lang: Lang) -> SettlementRow {
        let l = &s.list;
        SettlementRow {
            setl_id: s.setl_id.clone(),
            setl_time: s.setl_time.clone(),
            institution: l.basic.fixmedins_name.clone(),
            psn_name: l.basic.psn_name.clone(),
            medfee: l.medfee_sumamt.to_grouped(),
            fund: l.fund_pay_sumamt.to_grouped(),
            // Own and family accounts together, so the row adds up; the family's part named.
            acct: if l.acct_mulaid_pay.is_positive() {
                let family = i18n::t(lang, "settlement.family_part");
                let total = l.acct_pay.saturating_add(l.acct_mulaid_pay).to_grouped();
                super::shared::aside(lang, &total, &format!("{family} {}", l.acct_mulaid_pay.to_grouped()))
            } else {
                l.acct_pay.to_grouped()
            },
            cash: l.psn_cash_pay.to_grouped(),
            status: i18n::t(
                lang,
                if s.status == SettlementStatus::Reversed { "settlement.reversed" } else { "settlement.settled" },
            ),
            reversed: s.status == SettlementStatus::Reversed,
        }
    }
}

struct EntryRow {
    at: String,
    kind: &'static str,
    amount: String,
    balance_after: String,
    setl_id: String,
}

#[derive(Template)]
#[template(path = "settlements.html")]
struct SettlementsPage {
    ctx: Ctx,
    name: String,
    rows: Vec<SettlementRow>,
    balance: Option<String>,
    entries: Vec<EntryRow>,
}

fn entry_rows(account: &Option<IndividualAccount>, lang: Lang) -> Vec<EntryRow> {
    let Some(a) = account else { return Vec::new() };
    a.entries
        .iter()
        .rev()
        .map(|e| EntryRow {
            at: e.at.replace('T', " ").trim_end_matches('Z').to_string(),
            kind: i18n::t(
                lang,
                match e.kind.as_str() {
                    "opening" => "account.opening",
                    "reversal" => "account.reversal",
                    _ => "account.settlement",
                },
            ),
            amount: e.amount.to_grouped(),
            balance_after: e.balance_after.to_grouped(),
            setl_id: e.setl_id.clone().unwrap_or_default(),
        })
        .collect()
}

async fn show_settlements(
    state: &SharedState,
    caller: &Caller,
    person_id: i64,
    path: &str,
) -> Result<Response, AppError> {
    let (person, settlements, account) = svc::person_settlements(&state.store, caller, person_id).await?;
    let lang = caller.lang;
    let page = SettlementsPage {
        ctx: Ctx::for_caller(caller, path),
        name: person.name.to_string(),
        rows: settlements.iter().map(|s| SettlementRow::new(s, lang)).collect(),
        balance: account.as_ref().map(|a| a.balance.to_grouped()),
        entries: entry_rows(&account, lang),
    };
    Ok(render(&page)?.into_response())
}

/// `GET /my/settlements`: the insured person's settlements and individual account.
pub async fn my_settlements(State(state): State<SharedState>, caller: Caller) -> Result<Response, AppError> {
    caller.require(Permission::ViewOwnRecord)?;
    let id = caller.session().and_then(|s| s.account.person_id).ok_or_else(|| AppError::not_found("person"))?;
    show_settlements(&state, &caller, id, "/my/settlements").await
}

/// `GET /persons/{id}/settlements`: staff's view of the same.
pub async fn person_settlements_page(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    show_settlements(&state, &caller, id, "/persons").await
}

#[derive(Template)]
#[template(path = "settlement.html")]
struct SettlementPage {
    ctx: Ctx,
    l: SettlementList,
    reversed: bool,
    explain: Vec<String>,
    zh: bool,
    /// For reviewers and auditors: what the rules found, and the stay against its
    /// pre-evaluation.
    hits: Vec<super::supervision::HitRow>,
    comparison: Option<(super::inspection::PreEvaluationView, Vec<String>)>,
    paper: super::papers::PaperHead,
}

/// `GET /settlements/{setl_id}`: the printable settlement list.
pub async fn settlement_page(
    State(state): State<SharedState>,
    caller: Caller,
    Path(setl_id): Path<String>,
) -> Result<Response, AppError> {
    if caller.session().is_none() {
        return Err(AppError::forbidden());
    }
    let s = svc::settlement(&state.store, &caller, &setl_id).await?;
    let zh = caller.lang == Lang::Zh;
    let (hits, comparison) = if caller.can(Permission::DecideHits) {
        let hits = state.store.hits_of(yibao_store::Subject::Settlement(s.id)).await?;
        let found = crate::service::audit::settlement_comparison(&state.store, &s).await?;
        let mut rows = super::supervision::hit_rows(&hits, caller.lang);
        super::supervision::name_takers(&state.store, &caller, &hits, &mut rows).await;
        (rows, super::inspection::comparison_view(found, caller.lang))
    } else {
        (Vec::new(), None)
    };
    let region = s.list.basic.insuplc_admdvs.parse().ok();
    let paper = super::papers::PaperHead::new(caller.lang, region, "paper.settlement", &s.list.basic.setl_id);
    let page = SettlementPage {
        paper,
        hits,
        comparison,
        ctx: Ctx::for_caller(&caller, "/my/settlements"),
        explain: if zh { s.list.explain_zh.clone() } else { s.list.explain_en.clone() },
        reversed: s.status == SettlementStatus::Reversed,
        l: s.list,
        zh,
    };
    Ok(render(&page)?.into_response())
}
