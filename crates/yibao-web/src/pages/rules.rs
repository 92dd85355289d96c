//! Policy and catalog pages: the stored versions, a policy administrator's imports with
//! their validation reports, and catalog search.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use yibao_core::{AdminCode, Lang, Permission};
use yibao_store::{CatalogImport, PolicySummary, Rejected, StoredEntry};

use super::shared::{when, Names};
use super::{form_messages, render, Ctx};
use crate::context::Caller;
use crate::error::AppError;
use crate::{service, SharedState};

/// A stored policy version as a row.
pub struct PolicyRow {
    pub id: i64,
    pub region: String,
    pub scheme: String,
    pub year: i32,
    pub version: i64,
    pub name: String,
    pub effective: String,
    pub imported_at: String,
    pub imported_by: String,
    pub sha256: String,
}

/// Who imported a policy or catalog, as a name, and when, in China time (not the account's
/// label and the UTC instant stored).
async fn shown_by(names: &mut Names<'_>, by: &mut String, at: &mut String) {
    *by = names.of(by).await;
    *at = when(at);
}

impl PolicyRow {
    async fn named(p: &PolicySummary, lang: Lang, names: &mut Names<'_>) -> PolicyRow {
        let mut row = PolicyRow::new(p, lang);
        shown_by(names, &mut row.imported_by, &mut row.imported_at).await;
        row
    }

    fn new(p: &PolicySummary, lang: Lang) -> PolicyRow {
        PolicyRow {
            id: p.id,
            region: p.region.to_string(),
            scheme: format!("{} {}", p.scheme.code(), p.scheme.label().get(lang)),
            year: p.year,
            version: p.version,
            name: p.name.clone(),
            effective: format!("{} – {}", p.effective_from, p.effective_to),
            imported_at: p.imported_at.clone(),
            imported_by: p.imported_by.clone(),
            sha256: p.sha256.chars().take(12).collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "policies.html")]
struct PoliciesPage {
    ctx: Ctx,
    items: Vec<PolicyRow>,
    can_manage: bool,
    document: String,
    errors: Vec<String>,
}

pub async fn policies_page(State(state): State<SharedState>, caller: Caller) -> Result<Response, AppError> {
    show_policies(&state, &caller, String::new(), Vec::new()).await
}

async fn show_policies(
    state: &SharedState,
    caller: &Caller,
    document: String,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let mut names = Names::new(&state.store, caller);
    let mut rows = Vec::new();
    for p in service::policies(&state.store, caller).await? {
        rows.push(PolicyRow::named(&p, caller.lang, &mut names).await);
    }
    let page = PoliciesPage {
        ctx: Ctx::for_caller(caller, "/policies"),
        items: rows,
        can_manage: caller.can(Permission::ManagePolicies),
        document,
        errors,
    };
    Ok(render(&page)?.into_response())
}

/// A multipart upload: the CSRF token, a text field and a file.
struct Upload {
    csrf: String,
    text: String,
    file_name: String,
    file: Vec<u8>,
}

async fn read_upload(mut form: Multipart) -> Result<Upload, AppError> {
    use crate::forms::upload::unreadable;
    let mut up = Upload { csrf: String::new(), text: String::new(), file_name: String::new(), file: Vec::new() };
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        match field.name().unwrap_or("") {
            "csrf" => up.csrf = field.text().await.map_err(unreadable)?,
            "document" => {
                up.text = field.text().await.map_err(unreadable)?;
                crate::guard::check_field("document", "document", &up.text)?;
            }
            "file" => {
                up.file_name = field.file_name().unwrap_or("").chars().take(200).collect();
                crate::guard::check_file_name(&up.file_name)?;
                up.file = field.bytes().await.map_err(unreadable)?.to_vec();
            }
            _ => {}
        }
    }
    Ok(up)
}

/// `POST /policies`: import a pasted or uploaded policy document.
pub async fn policy_import(
    State(state): State<SharedState>,
    caller: Caller,
    form: Multipart,
) -> Result<Response, AppError> {
    let up = read_upload(form).await?;
    caller.check_csrf(&up.csrf)?;
    let document = if up.file.is_empty() {
        up.text
    } else {
        String::from_utf8(up.file).map_err(|_| {
            AppError::from(yibao_core::InvalidValue::new(
                "file",
                "encoding",
                "政策文件须为 UTF-8 编码的 TOML 或 JSON",
                "a policy file must be TOML or JSON in UTF-8",
            ))
        })?
    };
    match service::import_policy(&state.store, &caller, &document).await {
        Ok(p) => Ok(Redirect::to(&format!("/policies/{}", p.id)).into_response()),
        Err(e) => match form_messages(&e, caller.lang) {
            Some(errors) => {
                let mut res = show_policies(&state, &caller, document, errors).await?;
                *res.status_mut() = e.status;
                Ok(res)
            }
            None => Err(e),
        },
    }
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    ctx: Ctx,
    p: PolicyRow,
    document: String,
    /// The benefit table, against the version compared with (if any).
    benefits: Vec<BenefitView>,
    /// The version compared with, and the others that could be.
    against: Option<PolicyRow>,
    others: Vec<PolicyRow>,
}

/// A row of the benefit table as shown: `change` is `same`, `changed`, `added` or `removed`.
pub struct BenefitView {
    pub section: String,
    pub item: String,
    pub value: String,
    pub before: String,
    pub change: &'static str,
}

#[derive(Deserialize)]
pub struct PolicyAsk {
    /// The policy to compare with; by default the version before it (same region and scheme).
    compare: Option<i64>,
}

/// `GET /policies/{id}`: the policy as a benefit table (deductibles, ratios, caps by grade and
/// category), its differences from another version highlighted, and its document.
pub async fn policy_page(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(ask): Query<PolicyAsk>,
) -> Result<Response, AppError> {
    use yibao_core::benefits::{benefit_table, compare, Change};
    let stored = service::policy(&state.store, &caller, id).await?;
    let lang = caller.lang;
    let all = service::policies(&state.store, &caller).await?;
    let s = &stored.summary;
    let same_kind: Vec<&PolicySummary> =
        all.iter().filter(|o| o.id != s.id && o.region == s.region && o.scheme == s.scheme).collect();
    // By default the newest version imported before this one.
    let against_id = ask.compare.or_else(|| {
        same_kind
            .iter()
            .filter(|o| (o.year, o.version) < (s.year, s.version))
            .max_by_key(|o| (o.year, o.version))
            .map(|o| o.id)
    });
    let table =
        |document: &str| yibao_core::policy::Policy::parse(document).map(|p| benefit_table(&p)).unwrap_or_default();
    let this = table(&stored.document);
    let (against, other) = match against_id.filter(|a| *a != id) {
        Some(a) => {
            let o = service::policy(&state.store, &caller, a).await?;
            (Some(PolicyRow::new(&o.summary, lang)), table(&o.document))
        }
        None => (None, this.clone()),
    };
    let benefits = compare(&this, &other)
        .into_iter()
        .map(|c| BenefitView {
            section: c.section.get(lang).to_string(),
            item: c.item.get(lang).to_string(),
            value: c.value.map(|v| v.get(lang).to_string()).unwrap_or_default(),
            before: c.before.map(|v| v.get(lang).to_string()).unwrap_or_default(),
            change: match c.change {
                Change::Same => "same",
                Change::Changed => "changed",
                Change::Added => "added",
                Change::Removed => "removed",
            },
        })
        .collect();
    let page = PolicyPage {
        ctx: Ctx::for_caller(&caller, "/policies"),
        p: PolicyRow::named(s, lang, &mut Names::new(&state.store, &caller)).await,
        document: stored.document.clone(),
        benefits,
        against,
        others: same_kind.iter().map(|o| PolicyRow::new(o, lang)).collect(),
    };
    Ok(render(&page)?.into_response())
}

/// A catalog import as a row.
pub struct ImportRow {
    pub id: i64,
    pub file_name: String,
    pub format: String,
    pub regions: String,
    pub rows_accepted: i64,
    pub rows_rejected: i64,
    pub imported_at: String,
    pub imported_by: String,
}

impl ImportRow {
    fn new(i: &CatalogImport) -> ImportRow {
        ImportRow {
            id: i.id.unwrap_or(0),
            file_name: i.file_name.clone(),
            format: i.format.to_uppercase(),
            regions: i.regions.join("、"),
            rows_accepted: i.rows_accepted,
            rows_rejected: i.rows_rejected,
            imported_at: i.imported_at.clone(),
            imported_by: i.imported_by.clone(),
        }
    }
}

/// A catalog entry as a row.
pub struct EntryRow {
    pub region: String,
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub category: &'static str,
    pub selfpay: String,
    pub price_cap: String,
    pub valid: String,
    pub restriction: String,
    pub import_id: i64,
}

impl EntryRow {
    fn new(s: &StoredEntry, lang: Lang) -> EntryRow {
        let e = &s.entry;
        let r = &e.restriction;
        let mut limits = Vec::new();
        if !r.diagnoses.is_empty() {
            limits.push(format!(
                "{}{}",
                if lang == Lang::Zh { "限诊断 " } else { "diagnoses " },
                r.diagnoses.join("/")
            ));
        }
        if !r.grades.is_empty() {
            let grades: Vec<&str> = r.grades.iter().map(|g| g.code()).collect();
            limits.push(format!("{}{}", if lang == Lang::Zh { "限医院等级 " } else { "grades " }, grades.join("/")));
        }
        if let Some(q) = r.max_quantity {
            limits.push(format!("{}{q}", if lang == Lang::Zh { "限量 " } else { "at most " }));
        }
        EntryRow {
            region: s.region.to_string(),
            code: e.code.clone(),
            name: e.name.clone(),
            kind: e.kind.label(lang),
            category: e.category.label(lang),
            selfpay: if e.selfpay_prop.bp() == 0 { String::new() } else { e.selfpay_prop.percent() },
            price_cap: e.price_cap.map(|c| c.to_string()).unwrap_or_default(),
            valid: format!("{} – {}", e.begin, e.end.map(|d| d.to_string()).unwrap_or_default()),
            restriction: limits.join("；"),
            import_id: s.import_id,
        }
    }
}

#[derive(Template)]
#[template(path = "catalogs.html")]
struct CatalogsPage {
    ctx: Ctx,
    imports: Vec<ImportRow>,
    can_manage: bool,
    regions: Vec<String>,
    region: String,
    q: String,
    entries: Vec<EntryRow>,
    searched: bool,
    /// How many diagnoses the list holds, and what the last import said.
    diagnoses: i64,
    diagnoses_notice: Option<String>,
}

#[derive(Deserialize)]
pub struct CatalogQuery {
    region: Option<String>,
    q: Option<String>,
    /// After a diagnosis import: rows taken, and the lines of those that were not.
    diagnoses: Option<usize>,
    rejected: Option<String>,
}

pub async fn catalogs_page(
    State(state): State<SharedState>,
    caller: Caller,
    Query(query): Query<CatalogQuery>,
) -> Result<Response, AppError> {
    let imports = service::catalog_imports(&state.store, &caller).await?;
    // The caller's own regions first (a search there covers every catalog within them),
    // then each region that has a catalog.
    let own: Vec<String> = caller
        .session()
        .map(|s| s.account.scope.regions().iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    let mut listed: Vec<String> = imports
        .iter()
        .flat_map(|i| i.regions.iter())
        .filter(|r| r.parse().is_ok_and(|r: AdminCode| caller.covers(r)) && !own.contains(r))
        .cloned()
        .collect();
    listed.sort();
    listed.dedup();
    let regions: Vec<String> = own.into_iter().chain(listed).collect();
    let region = query.region.filter(|r| !r.is_empty()).or_else(|| regions.first().cloned()).unwrap_or_default();
    let q = query.q.unwrap_or_default();
    let searched = !q.trim().is_empty();
    let entries = if searched {
        let code: AdminCode = region.parse()?;
        service::search_catalog(&state.store, &caller, code, &q).await?
    } else {
        Vec::new()
    };
    let diagnoses_notice = query.diagnoses.map(|n| {
        let rejected = query.rejected.as_deref().unwrap_or("").trim().to_string();
        match (caller.lang, rejected.is_empty()) {
            (Lang::Zh, true) => format!("已导入 {n} 条诊断"),
            (Lang::Zh, false) => format!("已导入 {n} 条诊断；第 {rejected} 行未导入（编码或名称有误）"),
            (Lang::En, true) => format!("{n} diagnoses imported"),
            (Lang::En, false) => format!("{n} diagnoses imported; lines {rejected} were not (bad code or no name)"),
        }
    });
    let mut names = Names::new(&state.store, &caller);
    let mut import_rows: Vec<ImportRow> = imports.iter().map(ImportRow::new).collect();
    for row in &mut import_rows {
        shown_by(&mut names, &mut row.imported_by, &mut row.imported_at).await;
    }
    let page = CatalogsPage {
        diagnoses: state.store.diagnosis_count().await?,
        diagnoses_notice,
        ctx: Ctx::for_caller(&caller, "/catalogs"),
        imports: import_rows,
        can_manage: caller.can(Permission::ManagePolicies),
        regions,
        region,
        q,
        entries: entries.iter().map(|e| EntryRow::new(e, caller.lang)).collect(),
        searched,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "catalog_import.html")]
struct CatalogImportPage {
    ctx: Ctx,
    import: ImportRow,
    stored: bool,
    rejected: Vec<RejectedRow>,
    more: usize,
}

pub struct RejectedRow {
    pub line: u64,
    pub code: String,
    pub field: String,
    pub reason: String,
}

/// Rows shown on the report page; the API gives them all.
const REPORT_ROWS: usize = 500;

async fn report_page(state: &SharedState, caller: &Caller, import: &CatalogImport) -> Result<Response, AppError> {
    let rows: Vec<&Rejected> = import.rejected.iter().take(REPORT_ROWS).collect();
    let mut row = ImportRow::new(import);
    shown_by(&mut Names::new(&state.store, caller), &mut row.imported_by, &mut row.imported_at).await;
    let page = CatalogImportPage {
        ctx: Ctx::for_caller(caller, "/catalogs"),
        import: row,
        stored: import.id.is_some(),
        rejected: rows
            .iter()
            .map(|r| RejectedRow {
                line: r.line,
                code: r.code.clone(),
                field: r.field.clone(),
                reason: if caller.lang == Lang::Zh { r.reason_zh.clone() } else { r.reason_en.clone() },
            })
            .collect(),
        more: import.rejected.len().saturating_sub(REPORT_ROWS),
    };
    let mut res = render(&page)?.into_response();
    if import.id.is_none() {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

pub async fn catalog_import_page(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let import = service::catalog_import(&state.store, &caller, id).await?;
    report_page(&state, &caller, &import).await
}

/// `POST /catalogs`: import an uploaded catalog file, then show its report.
pub async fn catalog_upload(
    State(state): State<SharedState>,
    caller: Caller,
    form: Multipart,
) -> Result<Response, AppError> {
    let up = read_upload(form).await?;
    caller.check_csrf(&up.csrf)?;
    let report = service::import_catalog(&state.store, &caller, &up.file_name, &up.file).await?;
    match report.id {
        Some(id) => Ok(Redirect::to(&format!("/catalogs/{id}")).into_response()),
        None => report_page(&state, &caller, &report).await,
    }
}

/// `POST /catalogs/diagnoses`: the policy administrator imports the diagnosis list; the
/// catalogs page then says how many rows were taken and which were not.
pub async fn diagnoses_upload(
    State(state): State<SharedState>,
    caller: Caller,
    form: Multipart,
) -> Result<Response, AppError> {
    let up = read_upload(form).await?;
    caller.check_csrf(&up.csrf)?;
    let report = service::import_diagnoses(&state.store, &caller, &up.file_name, &up.file).await?;
    let lines: Vec<String> = report.rejected.iter().take(20).map(|r| r.line.to_string()).collect();
    Ok(Redirect::to(&format!("/catalogs?diagnoses={}&rejected={}#diagnoses", report.accepted, lines.join(",")))
        .into_response())
}

/// One calendar year as shown.
pub struct CalendarRow {
    pub year: i32,
    pub source: String,
    pub holidays: String,
    pub workdays: String,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    ctx: Ctx,
    years: Vec<CalendarRow>,
    from: String,
    days: String,
    due: Option<String>,
    can_manage: bool,
    document: String,
    errors: Vec<String>,
    imported: bool,
}

#[derive(Deserialize, Default)]
pub struct DueQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    imported: Option<String>,
}

/// Runs of consecutive dates as `01-01–01-03`.
fn date_runs(dates: &std::collections::BTreeSet<chrono::NaiveDate>) -> String {
    let mut runs: Vec<(chrono::NaiveDate, chrono::NaiveDate)> = Vec::new();
    for &d in dates {
        match runs.last_mut() {
            Some((_, end)) if end.succ_opt() == Some(d) => *end = d,
            _ => runs.push((d, d)),
        }
    }
    runs.iter()
        .map(|(a, b)| {
            if a == b {
                a.format("%m-%d").to_string()
            } else {
                format!("{}–{}", a.format("%m-%d"), b.format("%m-%d"))
            }
        })
        .collect::<Vec<_>>()
        .join("，")
}

async fn show_calendar(
    state: &SharedState,
    caller: &Caller,
    q: DueQuery,
    document: String,
    mut errors: Vec<String>,
) -> Result<Response, AppError> {
    let calendar = service::calendar(&state.store, caller).await?;
    let due = if q.from.trim().is_empty() || q.days.trim().is_empty() {
        None
    } else {
        let from = crate::forms::parse_date(&q.from);
        let days = q.days.trim().parse::<u32>();
        match (from, days) {
            (Ok(from), Ok(days)) => match calendar.add_working_days(from, days) {
                Ok(d) => Some(d.to_string()),
                Err(e) => {
                    errors.push(e.message.get(caller.lang).to_string());
                    None
                }
            },
            (Err(e), _) => {
                errors.push(e.message(caller.lang).to_string());
                None
            }
            (_, Err(_)) => {
                errors.push(crate::i18n::t(caller.lang, "calendar.days_number").to_string());
                None
            }
        }
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = CalendarPage {
        ctx: Ctx::for_caller(caller, "/calendar"),
        years: calendar
            .years()
            .map(|y| CalendarRow {
                year: y.year,
                source: y.source.clone(),
                holidays: date_runs(&y.holidays),
                workdays: date_runs(&y.workdays),
            })
            .collect(),
        from: q.from,
        days: q.days,
        due,
        can_manage: caller.can(Permission::ManagePolicies),
        document,
        errors,
        imported: q.imported.is_some(),
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn calendar_page(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<DueQuery>,
) -> Result<Response, AppError> {
    show_calendar(&state, &caller, q, String::new(), Vec::new()).await
}

#[derive(Deserialize)]
pub struct CalendarForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    document: String,
}

/// The policy administrator imports a newly published year (or a correction).
pub async fn calendar_import(
    State(state): State<SharedState>,
    caller: Caller,
    axum::Form(f): axum::Form<CalendarForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    match service::import_calendar(&state.store, &caller, &f.document).await {
        Ok(_) => Ok(Redirect::to("/calendar?imported=1").into_response()),
        Err(e) => match form_messages(&e, caller.lang) {
            Some(m) => show_calendar(&state, &caller, DueQuery::default(), f.document, m).await,
            None => Err(e),
        },
    }
}
