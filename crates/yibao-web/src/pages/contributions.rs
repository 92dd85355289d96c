//! Contributions in the portal: a unit declares a month's wages and reads its bills and
//! arrears (its own account at 「单位缴费」, a clerk at the unit's page); a person reads the
//! months paid (「我的缴费」).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use yibao_core::contribution::months::YearMonth;
use yibao_core::registry::Enrolment;
use yibao_core::{Fen, InvalidValue, Lang, Permission};
use yibao_store::{Bill, Declared, Purchase};

use super::shared::{my_person_id, notice, or_show};
use super::{render, Ctx, DoneAsk};
use crate::context::Caller;
use crate::error::AppError;
use crate::forms::upload::{required_file, FormWithFile};
use crate::{i18n, service, SharedState};

/// A bill as the unit's page lists it.
pub struct BillRow {
    pub month: String,
    pub employer: String,
    pub employee: String,
    pub total: String,
    pub state: String,
    pub state_code: String,
}

/// The latest bill's lines: (employee, wage, base, unit's part, employee's part, note).
pub struct LatestBill {
    pub month: String,
    pub lines: Vec<(String, String, String, String, String, String)>,
}

#[derive(Template)]
#[template(path = "contributions_unit.html")]
struct UnitPage {
    ctx: Ctx,
    unit_name: String,
    action: String,
    month: String,
    /// (person id, name, masked ID, wage last declared)
    employees: Vec<(i64, String, String, String)>,
    arrears: Vec<String>,
    bills: Vec<BillRow>,
    latest: Option<LatestBill>,
    errors: Vec<String>,
    notice: Option<String>,
}

fn state_label(b: &Bill, lang: Lang) -> String {
    match b.paid_on {
        Some(d) => format!("{} {d}", i18n::t(lang, "contrib.state_paid")),
        None => i18n::t(lang, "contrib.state_declared").to_string(),
    }
}

async fn show_unit(
    state: &SharedState,
    caller: &Caller,
    employer_id: i64,
    path: &str,
    done: &str,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let lang = caller.lang;
    let bills = service::contributions::bills(&state.store, caller, employer_id).await?;
    let latest = match bills.first() {
        Some(b) => Some(state.store.contribution_bill(b.id).await?),
        None => None,
    };
    let last_wage = |person_id: i64| {
        latest.as_ref().and_then(|b| b.lines.iter().find(|l| l.person_id == person_id)).map(|l| l.wage.to_plain())
    };
    let employees = state
        .store
        .employees_of(employer_id)
        .await?
        .iter()
        .map(|p| (p.id, p.name.to_string(), p.resident_id.masked(), last_wage(p.id).unwrap_or_default()))
        .collect();
    let arrears = bills
        .iter()
        .filter(|b| b.state == "declared")
        .map(|b| format!("{} · {} 元", b.month, b.total.to_grouped()))
        .collect();
    let page = UnitPage {
        ctx: Ctx::for_caller(caller, path),
        unit_name: state.store.employer(employer_id).await?.name,
        action: path.to_string(),
        month: YearMonth::of(caller.today).plus(-1).to_string(),
        employees,
        arrears,
        bills: bills
            .iter()
            .map(|b| BillRow {
                month: b.month.to_string(),
                employer: b.employer_total.to_grouped(),
                employee: b.employee_total.to_grouped(),
                total: b.total.to_grouped(),
                state: state_label(b, lang),
                state_code: b.state.clone(),
            })
            .collect(),
        latest: latest.map(|b| LatestBill {
            month: b.month.to_string(),
            lines: b
                .lines
                .iter()
                .map(|l| {
                    (
                        l.person_name.clone(),
                        l.wage.to_grouped(),
                        l.base.to_grouped(),
                        l.employer_part.to_grouped(),
                        l.employee_part.to_grouped(),
                        l.note.clone().unwrap_or_default(),
                    )
                })
                .collect(),
        }),
        errors,
        notice: notice(lang, done),
    };
    Ok(render(&page)?.into_response())
}

fn own_unit(caller: &Caller) -> Result<i64, AppError> {
    caller.require(Permission::DeclareContributions)?;
    caller.session().and_then(|s| s.account.employer_id).ok_or_else(AppError::forbidden)
}

/// `GET /unit/contributions`: the unit's own page.
pub async fn unit_contributions(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<DoneAsk>,
) -> Result<Response, AppError> {
    let unit = own_unit(&caller)?;
    show_unit(&state, &caller, unit, "/unit/contributions", &q.done, Vec::new()).await
}

/// `GET /employers/{id}/contributions`: the same for a clerk (or finance) of the unit's region.
pub async fn employer_contributions(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<DoneAsk>,
) -> Result<Response, AppError> {
    show_unit(&state, &caller, id, &format!("/employers/{id}/contributions"), &q.done, Vec::new()).await
}

/// The declaration in a form: `month` and `wage_{person id}` of the unit's employees (an empty
/// wage leaves the employee out; another person's id is not the unit's to declare).
async fn declared(
    state: &SharedState,
    unit: i64,
    form: &HashMap<String, String>,
) -> Result<(YearMonth, Vec<Declared>), AppError> {
    let month: YearMonth = form.get("month").map(String::as_str).unwrap_or_default().parse()?;
    let employees = state.store.employees_of(unit).await?;
    let mut lines = Vec::new();
    let mut ids: Vec<(i64, &String)> = form
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("wage_").and_then(|id| id.parse().ok()).map(|id| (id, v)))
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    ids.sort();
    for (id, wage) in ids {
        let person = employees.iter().find(|p| p.id == id).ok_or_else(|| AppError::not_found("employee"))?;
        let wage: Fen = wage.parse().map_err(|e: InvalidValue| {
            InvalidValue::new(
                "wage",
                e.code,
                format!("{}：{}", person.name, e.message.zh),
                format!("{}: {}", person.name, e.message.en),
            )
        })?;
        lines.push(Declared { resident_id: person.resident_id.clone(), wage });
    }
    Ok((month, lines))
}

async fn declare_for(
    state: SharedState,
    caller: Caller,
    unit: i64,
    path: String,
    form: HashMap<String, String>,
) -> Result<Response, AppError> {
    caller.check_csrf(form.get("csrf").map(String::as_str).unwrap_or_default())?;
    let done = async {
        // May the caller act for the unit? Before anything of its employees is read.
        service::contributions::bills(&state.store, &caller, unit).await?;
        let (month, lines) = declared(&state, unit, &form).await?;
        service::contributions::declare(&state.store, &caller, unit, month, &lines).await
    }
    .await;
    match done {
        Ok(_) => Ok(Redirect::to(&format!("{path}?done=declared")).into_response()),
        Err(e) => or_show(e, caller.lang, |errors| show_unit(&state, &caller, unit, &path, "", errors)).await,
    }
}

/// `POST /unit/contributions`: the unit declares a month.
pub async fn unit_declare(
    State(state): State<SharedState>,
    caller: Caller,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let unit = own_unit(&caller)?;
    declare_for(state, caller, unit, "/unit/contributions".into(), form).await
}

/// `POST /employers/{id}/contributions`: a clerk declares for the unit at the window.
pub async fn employer_declare(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, AppError> {
    declare_for(state, caller, id, format!("/employers/{id}/contributions"), form).await
}

/// The month of a declaration file.
#[derive(serde::Deserialize)]
pub struct FileDeclaration {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    month: String,
}

async fn declare_file_for(
    state: SharedState,
    caller: Caller,
    unit: i64,
    path: String,
    FormWithFile { form, file }: FormWithFile<FileDeclaration>,
) -> Result<Response, AppError> {
    caller.check_csrf(&form.csrf)?;
    let done = async {
        let month: YearMonth = form.month.parse()?;
        let file = required_file(file)?;
        service::contributions::declare_file(&state.store, &caller, unit, month, &file.bytes).await
    }
    .await;
    match done {
        Ok(_) => Ok(Redirect::to(&format!("{path}?done=declared")).into_response()),
        Err(e) => or_show(e, caller.lang, |errors| show_unit(&state, &caller, unit, &path, "", errors)).await,
    }
}

/// `POST /unit/contributions/file`: the unit declares a month from a CSV or XLSX file.
pub async fn unit_declare_file(
    State(state): State<SharedState>,
    caller: Caller,
    form: FormWithFile<FileDeclaration>,
) -> Result<Response, AppError> {
    let unit = own_unit(&caller)?;
    declare_file_for(state, caller, unit, "/unit/contributions".into(), form).await
}

/// `POST /employers/{id}/contributions/file`: a clerk declares from the unit's file.
pub async fn employer_declare_file(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    form: FormWithFile<FileDeclaration>,
) -> Result<Response, AppError> {
    declare_file_for(state, caller, id, format!("/employers/{id}/contributions"), form).await
}

#[derive(Template)]
#[template(path = "my_contributions.html")]
struct MyPage {
    ctx: Ctx,
    /// (month, base, amount, paid on, paid through)
    months: Vec<(String, String, String, String, String)>,
    standing: String,
    covered: bool,
    /// What the person would pay online now, and whether it is theirs to pay (flexible
    /// workers, residents).
    due: Option<String>,
    /// Online payments: (order number, what it bought, amount, paid at, the receipt's link).
    receipts: Vec<(String, String, String, String, String)>,
}

/// `GET /my/contributions`: the months paid, and where the person stands today.
pub async fn my_contributions(State(state): State<SharedState>, caller: Caller) -> Result<Response, AppError> {
    let id = my_person_id(&caller)?;
    let lang = caller.lang;
    let months = service::contributions::paid_months(&state.store, &caller, id).await?;
    let person = state.store.person(id).await?;
    let today = caller.today;
    let standing = state.store.contribution_standing(&person, today, today).await?;
    let (standing, covered) = match standing {
        None => (String::new(), true),
        Some(s) => match s.refusal() {
            None => (if lang == Lang::Zh { "正常享受医保待遇".to_string() } else { "covered".to_string() }, true),
            Some(why) => (why.get(lang).to_string(), false),
        },
    };
    let unit = if lang == Lang::Zh { "单位缴费单" } else { "the unit's bill" };
    // What is due now, as the public payment page prices it: a flexible worker's next month
    // at the lowest base, a resident's year.
    let purchase = match person.enrolment {
        Enrolment::FlexibleEmployment => {
            let rules = state.store.contribution_rules(person.insured_region, chrono::Datelike::year(&today)).await?;
            rules.and_then(|r| r.flexible.base_percents.first().map(|p| Purchase::Flexible { percent: *p, months: 1 }))
        }
        Enrolment::Resident => Some(Purchase::Resident),
        Enrolment::UnitEmployee => None,
    };
    let due = match purchase {
        Some(p) => match state.store.payment_due(&person, &p, today).await {
            Ok(d) => Some(match lang {
                Lang::Zh => format!("{}：{} 元", d.buys().zh, d.amount.to_grouped()),
                Lang::En => format!("{}: {}", d.buys().en, d.amount.to_grouped()),
            }),
            // Nothing due, or not paid online: why, in the person's words.
            Err(e) => super::form_messages(&AppError::from(e), lang).and_then(|m| m.into_iter().next()),
        },
        None => None,
    };
    let receipts = state
        .store
        .online_orders_of(id)
        .await?
        .into_iter()
        .filter(|o| o.state == "paid" || o.state == "refund_due")
        .map(|o| {
            let link = format!("/pay/orders/{}?key={}", o.order_no, o.view_key);
            let at = o.paid_at.as_deref().map(super::shared::when).unwrap_or_default();
            (o.order_no.clone(), o.buys().get(lang).to_string(), o.amount.to_grouped(), at, link)
        })
        .collect();
    let page = MyPage {
        ctx: Ctx::for_caller(&caller, "/my/contributions"),
        months: months
            .iter()
            .rev()
            .map(|m| {
                let source = if m.source.starts_with("bill:") { unit.to_string() } else { m.source.clone() };
                (m.month.to_string(), m.base.to_grouped(), m.amount.to_grouped(), m.paid_on.to_string(), source)
            })
            .collect(),
        standing,
        covered,
        due,
        receipts,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "contributions_finance.html")]
struct FinancePage {
    ctx: Ctx,
    year: i32,
    /// (month, units', flexible workers', residents', total)
    months: Vec<(String, String, String, String, String)>,
    /// (unit, month, total)
    arrears: Vec<(String, String, String)>,
    can_record: bool,
    /// A receipt file's lines: (line, credit code, month, amount, recorded, what became of it)
    results: Vec<(usize, String, String, String, bool, String)>,
    errors: Vec<String>,
}

async fn show_finance(
    state: &SharedState,
    caller: &Caller,
    results: Vec<yibao_store::PaymentMatch>,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let lang = caller.lang;
    let year = chrono::Datelike::year(&caller.today);
    let (collected, arrears) = service::contributions::collection(&state.store, caller, year).await?;
    let mut by_month: std::collections::BTreeMap<String, [Fen; 3]> = std::collections::BTreeMap::new();
    for c in &collected {
        let i = match c.kind.as_str() {
            "unit" => 0,
            "flexible" => 1,
            _ => 2,
        };
        let row = by_month.entry(c.month.to_string()).or_insert([Fen::ZERO; 3]);
        row[i] = row[i].saturating_add(c.amount);
    }
    let page = FinancePage {
        ctx: Ctx::for_caller(caller, "/contributions"),
        year,
        months: by_month
            .into_iter()
            .map(|(m, [u, f, r])| {
                let total = u.saturating_add(f).saturating_add(r);
                (m, u.to_grouped(), f.to_grouped(), r.to_grouped(), total.to_grouped())
            })
            .collect(),
        arrears: arrears.iter().map(|b| (b.employer_name.clone(), b.month.to_string(), b.total.to_grouped())).collect(),
        can_record: caller.can(Permission::ManagePayments),
        results: results
            .into_iter()
            .map(|m| {
                let what = match &m.problem {
                    Some(p) => p.get(lang).to_string(),
                    None => i18n::t(lang, "contrib.matched").to_string(),
                };
                (m.line, m.payer.clone(), m.period.clone(), m.amount.to_grouped(), m.recorded(), what)
            })
            .collect(),
        errors,
    };
    Ok(render(&page)?.into_response())
}

/// `GET /contributions`: finance's (and auditors') view of the region's collection.
pub async fn finance_contributions(State(state): State<SharedState>, caller: Caller) -> Result<Response, AppError> {
    show_finance(&state, &caller, Vec::new(), Vec::new()).await
}

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /contributions/receipts`: finance imports a receipt file; every line's outcome.
pub async fn finance_receipts(
    State(state): State<SharedState>,
    caller: Caller,
    FormWithFile { form, file }: FormWithFile<CsrfForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&form.csrf)?;
    let Some(file) = file else {
        let message = i18n::t(caller.lang, "contrib.receipts").to_string();
        return show_finance(&state, &caller, Vec::new(), vec![message]).await;
    };
    let text = String::from_utf8_lossy(&file.bytes).to_string();
    match service::contributions::import_payments(&state.store, &caller, &text).await {
        Ok(results) => show_finance(&state, &caller, results, Vec::new()).await,
        Err(e) => or_show(e, caller.lang, |errors| show_finance(&state, &caller, Vec::new(), errors)).await,
    }
}
