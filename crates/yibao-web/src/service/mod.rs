//! The application's operations, each checking who may do it and where. Portal pages and
//! the JSON API both call these, so a permission or scope rule is written once.
//! A record outside the caller's regions answers "not found", never revealing it exists.

use yibao_core::{InvalidValue, Permission, Role, Scope};
use yibao_store::{
    Account, AccountGiver, AccountHolder, CatalogImport, Employer, EmployerInput, Institution, InstitutionInput,
    NewAccount, Page, Person, PersonInput, PersonQuery, PolicySummary, RecordVersion, Store, StoredEntry, StoredPolicy,
};

use crate::context::Caller;

pub mod accounts;
pub mod audit;
pub mod audit_log;
pub mod books;
pub mod claims;
pub mod clearing;
pub mod contributions;
pub mod cover;
pub mod find;
pub mod logins;
pub mod pay;
pub mod payments;
pub mod settlement;
pub mod supervision;
pub mod withdrawals;
pub mod work;

/// A log-in attempt: throttled (see [`crate::throttle`]) before the password is checked, and
/// audited by the store. A throttled attempt is answered like a wrong password, in the same
/// time, so neither says whether the account exists or is being throttled.
pub async fn log_in(
    state: &crate::AppState,
    client: &crate::context::Client,
    username: &str,
    password: &str,
) -> Result<yibao_store::LoginOutcome, AppError> {
    let Some(attempt) = state.logins.begin(username, client.address, std::time::Instant::now()) else {
        yibao_store::spend_a_password_check(password).await;
        return Ok(yibao_store::LoginOutcome::BadCredentials);
    };
    let actor =
        yibao_store::Actor { label: format!("login from {}", client.address), request_id: client.request_id.clone() };
    let outcome = state.store.login(&actor, username, password, chrono::Utc::now()).await?;
    if !matches!(outcome, yibao_store::LoginOutcome::BadCredentials) {
        state.logins.succeeded(attempt, std::time::Instant::now());
    }
    Ok(outcome)
}
use crate::error::AppError;

pub(crate) fn staff_scope(caller: &Caller) -> Scope {
    caller.session().filter(|s| s.account.role.is_staff()).map(|s| s.account.scope.clone()).unwrap_or_default()
}

pub async fn search_persons(store: &Store, caller: &Caller, mut q: PersonQuery) -> Result<Page<Person>, AppError> {
    caller.require(Permission::ViewPersons)?;
    q.scope = Some(staff_scope(caller));
    Ok(store.search_persons(&q).await?)
}

/// A person and whether the caller sees them masked.
pub async fn person(store: &Store, caller: &Caller, id: i64) -> Result<(Person, bool), AppError> {
    let own = caller.can(Permission::ViewOwnRecord) && caller.session().and_then(|s| s.account.person_id) == Some(id);
    if !own {
        caller.require(Permission::ViewPersons)?;
    }
    let p = store.person(id).await?;
    if !own && !caller.covers(p.insured_region) {
        return Err(AppError::not_found("person"));
    }
    let masked = !own && !caller.can(Permission::ViewPersonDetail);
    if !own && !masked {
        // Staff who see a person in full (ID number, card, phone) are on record for it.
        record_read(store, caller, "person", id).await?;
    }
    Ok((p, masked))
}

/// A member of staff as people who are not staff see them: by role and work number
/// (「审核 · 工号 0004」), never their name or username.
pub(crate) fn staff_seen_by_people(account: &yibao_store::Account, lang: yibao_core::Lang) -> String {
    match lang {
        yibao_core::Lang::Zh => format!("医保{} · 工号 {:04}", account.role.label().zh, account.id),
        yibao_core::Lang::En => format!("{} · staff no. {:04}", account.role.label().en, account.id),
    }
}

/// Hides staff usernames from people who are not staff: a label of a staff account
/// ("account:12 (clerk01)") reads as its role and work number, the system's own as
/// 「医保经办人员」 (insurance staff); a person's, an employer unit's or an institution's stays.
pub(crate) struct StaffNames<'a> {
    store: &'a Store,
    word: &'static str,
    lang: yibao_core::Lang,
    hide: bool,
    known: std::collections::HashMap<String, Option<String>>,
}

impl<'a> StaffNames<'a> {
    pub(crate) fn new(store: &'a Store, caller: &Caller) -> StaffNames<'a> {
        let word = if caller.lang == yibao_core::Lang::Zh { "医保经办人员" } else { "insurance staff" };
        StaffNames { store, word, lang: caller.lang, hide: !caller.role().is_staff(), known: Default::default() }
    }

    pub(crate) async fn hide(&mut self, name: &mut String) {
        if !self.hide {
            return;
        }
        let shown = match self.known.get(name.as_str()) {
            Some(shown) => shown.clone(),
            None => {
                let shown = match account_id_of(name) {
                    Some(id) => match self.store.account(id).await {
                        Ok(a) if a.role.is_staff() => Some(staff_seen_by_people(&a, self.lang)),
                        _ => None,
                    },
                    None if name.starts_with("institution:") => None,
                    None => Some(self.word.to_string()),
                };
                self.known.insert(name.clone(), shown.clone());
                shown
            }
        };
        if let Some(shown) = shown {
            *name = shown;
        }
    }
}

/// The account an audit label names (`account:12 (clerk01)` is 12), if it names one.
pub(crate) fn account_id_of(label: &str) -> Option<i64> {
    label.strip_prefix("account:").and_then(|r| r.split(' ').next()).and_then(|i| i.parse().ok())
}

/// Puts a sensitive read in the audit log (`read.<entity>`): who saw whose full record or
/// document, and when.
pub(crate) async fn record_read(store: &Store, caller: &Caller, entity: &str, id: i64) -> Result<(), AppError> {
    let mut w = store.begin_write(&caller.actor()).await?;
    w.record::<(), ()>(&format!("read.{entity}"), entity, &id.to_string(), None, None).await?;
    w.commit().await?;
    Ok(())
}

/// A person, whether masked, and — only when not masked — every version of the record.
pub async fn person_detail(
    store: &Store,
    caller: &Caller,
    id: i64,
) -> Result<(Person, bool, Vec<RecordVersion>), AppError> {
    let (p, masked) = person(store, caller, id).await?;
    let mut history = if masked { Vec::new() } else { store.record_versions("person", id).await? };
    // The person reading their own record's history sees 「医保经办人员」, not who.
    let mut names = StaffNames::new(store, caller);
    for v in &mut history {
        names.hide(&mut v.recorded_by).await;
    }
    Ok((p, masked, history))
}

pub async fn person_history(store: &Store, caller: &Caller, id: i64) -> Result<Vec<RecordVersion>, AppError> {
    let (_, masked, history) = person_detail(store, caller, id).await?;
    if masked {
        return Err(AppError::forbidden());
    }
    Ok(history)
}

/// A region (of `field`) outside the caller's own.
pub(crate) fn out_of_scope(field: &'static str) -> AppError {
    AppError::validation(vec![InvalidValue::new(
        field,
        "out_of_scope",
        "所在地区不在您的管辖区域内",
        "the region is outside your regions",
    )])
}

pub async fn create_person(store: &Store, caller: &Caller, input: &PersonInput) -> Result<Person, AppError> {
    caller.require(Permission::EditPersons)?;
    if !caller.covers(input.insured_region) {
        return Err(out_of_scope("insured_region"));
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let p = store.create_person(&mut w, input).await?;
    w.commit().await?;
    Ok(p)
}

pub async fn update_person(
    store: &Store,
    caller: &Caller,
    id: i64,
    version: i64,
    input: &PersonInput,
) -> Result<Person, AppError> {
    caller.require(Permission::EditPersons)?;
    let current = store.person(id).await?;
    if !caller.covers(current.insured_region) {
        return Err(AppError::not_found("person"));
    }
    if !caller.covers(input.insured_region) {
        return Err(out_of_scope("insured_region"));
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let p = store.update_person(&mut w, id, version, input, caller.username()).await?;
    w.commit().await?;
    Ok(p)
}

/// Confirms the bank account staff registered on a person or an employer unit: another
/// member of staff who may edit it, or the holder (the person; the unit's own account).
pub async fn confirm_registered_account(
    store: &Store,
    caller: &Caller,
    holder: AccountHolder,
    version: i64,
) -> Result<(), AppError> {
    let own = caller.session().is_some_and(|s| match holder {
        AccountHolder::Person(id) => s.account.person_id == Some(id),
        AccountHolder::Employer(id) => s.account.employer_id == Some(id),
    });
    let by = if own {
        AccountGiver::Claimant
    } else {
        match holder {
            AccountHolder::Person(id) => {
                caller.require(Permission::EditPersons)?;
                if !caller.covers(store.person(id).await?.insured_region) {
                    return Err(AppError::not_found("person"));
                }
            }
            AccountHolder::Employer(id) => {
                caller.require(Permission::EditEmployers)?;
                employer(store, caller, id).await?;
            }
        }
        AccountGiver::Staff(caller.username().to_string())
    };
    let mut w = store.begin_write(&caller.actor()).await?;
    store.confirm_registered_account(&mut w, holder, version, &by).await?;
    w.commit().await?;
    Ok(())
}

pub async fn my_record(store: &Store, caller: &Caller) -> Result<Option<Person>, AppError> {
    caller.require(Permission::ViewOwnRecord)?;
    match caller.session().and_then(|s| s.account.person_id) {
        Some(id) => Ok(Some(store.person(id).await?)),
        None => Ok(None),
    }
}

pub async fn employers(store: &Store, caller: &Caller, text: Option<&str>) -> Result<Vec<Employer>, AppError> {
    caller.require(Permission::ViewEmployers)?;
    Ok(store.list_employers(text, Some(&staff_scope(caller)), 200).await?)
}

pub async fn employer(store: &Store, caller: &Caller, id: i64) -> Result<Employer, AppError> {
    caller.require(Permission::ViewEmployers)?;
    let e = store.employer(id).await?;
    if !caller.covers(e.region) {
        return Err(AppError::not_found("employer"));
    }
    Ok(e)
}

pub async fn save_employer(
    store: &Store,
    caller: &Caller,
    existing: Option<(i64, i64)>,
    input: &EmployerInput,
) -> Result<Employer, AppError> {
    caller.require(Permission::EditEmployers)?;
    if let Some((id, _)) = existing {
        employer(store, caller, id).await?;
    }
    if !caller.covers(input.region) {
        return Err(out_of_scope("region"));
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let e = match existing {
        Some((id, version)) => store.update_employer(&mut w, id, version, input, caller.username()).await?,
        None => store.create_employer(&mut w, input).await?,
    };
    w.commit().await?;
    Ok(e)
}

pub async fn institutions(
    store: &Store,
    caller: &Caller,
    text: Option<&str>,
    region: Option<yibao_core::AdminCode>,
) -> Result<Vec<Institution>, AppError> {
    caller.require(Permission::ViewInstitutions)?;
    Ok(store.list_institutions(text, region).await?)
}

pub async fn institution(store: &Store, caller: &Caller, id: i64) -> Result<Institution, AppError> {
    let own = caller.institution().is_some_and(|i| i.id == id);
    if !own {
        caller.require(Permission::ViewInstitutions)?;
    }
    Ok(store.institution(id).await?)
}

pub async fn save_institution(
    store: &Store,
    caller: &Caller,
    existing: Option<(i64, i64)>,
    input: &InstitutionInput,
) -> Result<Institution, AppError> {
    caller.require(Permission::EditInstitutions)?;
    // The policy administrator keeps the institutions of their own regions: one elsewhere
    // does not exist for them, and none is created or moved outside them.
    if let Some((id, _)) = existing {
        if !caller.covers(store.institution(id).await?.region) {
            return Err(AppError::not_found("institution"));
        }
    }
    if !caller.covers(input.region) {
        return Err(out_of_scope("region"));
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let i = match existing {
        Some((id, version)) => store.update_institution(&mut w, id, version, input).await?,
        None => store.create_institution(&mut w, input).await?,
    };
    w.commit().await?;
    Ok(i)
}

pub use logins::accounts;

/// The roles whose accounts a second administrator must approve: every staff role, since
/// each is one of the two people some step on money needs.
fn needs_second_administrator(role: Role) -> bool {
    // Every staff role: two clerks (or two finance users, two reviewers) made by one
    // administrator would be one person's four eyes.
    role.is_staff()
}

/// An administrator creates an account within their own regions: a staff account's regions,
/// an insured person's, an institution's and an employer unit's region must all be theirs.
/// A person has at most one account, which waits for a clerk's identity check; finance,
/// second-review and administrator accounts wait for a second administrator
/// ([`approve_account`]).
pub async fn create_account(store: &Store, caller: &Caller, new: &NewAccount) -> Result<Account, AppError> {
    caller.require(Permission::ManageAccounts)?;
    if new.role.is_staff() && new.scope.regions().is_empty() {
        return Err(AppError::validation(vec![InvalidValue::new(
            "scope",
            "required",
            "工作人员账号须至少指定一个管辖区域，如 620300",
            "a staff account needs at least one region, e.g. 620300",
        )]));
    }
    if new.scope.regions().iter().any(|r| !caller.covers(*r)) {
        return Err(AppError::validation(vec![InvalidValue::new(
            "scope",
            "out_of_scope",
            "只能授予您本人管辖区域内的区域",
            "you can give only regions within your own",
        )]));
    }
    if new.role != Role::Insured && new.person_id.is_some() {
        // Only an insured person's account is linked to a registry record: a link on any
        // other would act as the person (and keep them from an account of their own).
        return Err(AppError::validation(vec![InvalidValue::new(
            "person_id",
            "not_insured",
            "只有参保人账号才关联参保人",
            "only an insured person's account is linked to a person",
        )]));
    }
    if new.role == Role::Insured {
        if let Some(id) = new.person_id {
            let person = store.person(id).await?;
            if !caller.covers(person.insured_region) {
                return Err(AppError::not_found("person"));
            }
            if store.account_of_person(id).await?.is_some() {
                return Err(AppError::new(
                    axum::http::StatusCode::CONFLICT,
                    "duplicate",
                    "该参保人已有账号：一人只能有一个账号",
                    "this person already has an account: one account per person",
                ));
            }
        }
    }
    if let Some(code) = new.institution_code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        if store.institution_by_code(code).await.is_ok_and(|i| !caller.covers(i.region)) {
            return Err(AppError::not_found("institution"));
        }
    }
    if let Some(code) = new.employer_code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        if store.employer_by_credit_code(code).await.is_ok_and(|e| e.is_some_and(|e| !caller.covers(e.region))) {
            return Err(AppError::not_found("employer"));
        }
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let mut a = store.create_account(&mut w, new).await?;
    // A money role waits for a second administrator; an insured person's account (which
    // opens their whole record) waits for an intake clerk of their region to check their
    // identity at the window.
    if needs_second_administrator(new.role) || (new.role == Role::Insured && new.person_id.is_some()) {
        a = store.hold_for_approval(&mut w, a.id, caller.username()).await?;
    }
    w.commit().await?;
    Ok(a)
}

/// Approves an account held for a second person: a finance, second-review or administrator
/// account by another administrator; an insured person's account by an intake clerk of the
/// person's region, who has checked the person's identity (the approval is audited).
pub async fn approve_account(store: &Store, caller: &Caller, id: i64) -> Result<(Account, String), AppError> {
    let account = store.account(id).await?;
    match account.person_id.filter(|_| account.role == Role::Insured) {
        Some(person) => {
            caller.require(Permission::EditPersons)?;
            if !caller.covers(store.person(person).await?.insured_region) {
                return Err(AppError::not_found("account"));
            }
        }
        None => {
            caller.require(Permission::ManageAccounts)?;
            if account.scope.regions().iter().any(|r| !caller.covers(*r)) {
                return Err(AppError::not_found("account"));
            }
        }
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let approved = store.approve_account(&mut w, id, caller.username()).await?;
    w.commit().await?;
    Ok(approved)
}

/// The logged-in holder changes their own password (also the one someone else set, which
/// they must change before anything else); their other sessions end.
pub async fn change_password(caller: &Caller, store: &Store, current: &str, new: &str) -> Result<Account, AppError> {
    let crate::context::Principal::Session { session, token, .. } = &caller.principal else {
        return Err(AppError::forbidden());
    };
    Ok(store.change_password(&caller.actor(), session.account.id, token, current, new).await?)
}

// ---------------------------------------------------------------------------------------
// Policies and catalogs

/// A policy document's problems, each with where it is ("inpatient.deductible.level3：…").
pub fn policy_problems(errors: &[yibao_core::policy::PolicyError]) -> AppError {
    AppError::validation(
        errors
            .iter()
            .map(|e| {
                InvalidValue::new(
                    "policy",
                    "invalid",
                    format!("{}：{}", e.path, e.message.zh),
                    format!("{}: {}", e.path, e.message.en),
                )
            })
            .collect(),
    )
}

pub async fn policies(store: &Store, caller: &Caller) -> Result<Vec<PolicySummary>, AppError> {
    caller.require(Permission::ViewPolicies)?;
    Ok(store.policies(Some(&staff_scope(caller))).await?)
}

pub async fn policy(store: &Store, caller: &Caller, id: i64) -> Result<StoredPolicy, AppError> {
    caller.require(Permission::ViewPolicies)?;
    Ok(store.policy(id, Some(&staff_scope(caller))).await?)
}

/// Validates a policy document (every problem reported, with its path) and stores it as a
/// new version, for a region in the administrator's scope.
pub async fn import_policy(store: &Store, caller: &Caller, document: &str) -> Result<PolicySummary, AppError> {
    caller.require(Permission::ManagePolicies)?;
    yibao_core::policy::Policy::parse(document).map_err(|e| policy_problems(&e))?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let summary = store.import_policy(&mut w, document, Some(&staff_scope(caller))).await?;
    w.commit().await?;
    Ok(summary)
}

pub async fn catalog_imports(store: &Store, caller: &Caller) -> Result<Vec<CatalogImport>, AppError> {
    caller.require(Permission::ViewPolicies)?;
    Ok(store.catalog_imports(Some(&staff_scope(caller))).await?)
}

pub async fn catalog_import(store: &Store, caller: &Caller, id: i64) -> Result<CatalogImport, AppError> {
    caller.require(Permission::ViewPolicies)?;
    Ok(store.catalog_import(id, Some(&staff_scope(caller))).await?)
}

/// Imports a catalog file (CSV or XLSX). The report says what was stored and why each
/// refused row was refused; when nothing could be stored, `id` is `None`.
pub async fn import_catalog(
    store: &Store,
    caller: &Caller,
    file_name: &str,
    data: &[u8],
) -> Result<CatalogImport, AppError> {
    caller.require(Permission::ManagePolicies)?;
    if data.is_empty() {
        return Err(
            InvalidValue::new("file", "required", "请选择要导入的目录文件", "choose a catalog file to import").into()
        );
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let report = store.import_catalog(&mut w, file_name, data, Some(&staff_scope(caller))).await?;
    if report.id.is_some() {
        w.commit().await?;
    }
    Ok(report)
}

/// The policy administrator imports the diagnosis list (CSV or XLSX of code and name). A file
/// with no good row stores nothing and is refused with its first bad rows.
pub async fn import_diagnoses(
    store: &Store,
    caller: &Caller,
    file_name: &str,
    data: &[u8],
) -> Result<yibao_store::DiagnosisImport, AppError> {
    caller.require(Permission::ManagePolicies)?;
    if data.is_empty() {
        return Err(
            InvalidValue::new("file", "required", "请选择诊断目录文件", "choose a diagnosis list to import").into()
        );
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let report = store.import_diagnoses(&mut w, file_name, data).await?;
    if report.accepted == 0 {
        let rows = report.rejected.iter().map(|r| (r.line, "", r.reason.zh.as_str(), r.reason.en.as_str()));
        return Err(nothing_imported(rows));
    }
    w.commit().await?;
    Ok(report)
}

/// Catalog entries of a region in the caller's scope, by code or name prefix.
pub async fn search_catalog(
    store: &Store,
    caller: &Caller,
    region: yibao_core::AdminCode,
    text: &str,
) -> Result<Vec<StoredEntry>, AppError> {
    caller.require(Permission::ViewPolicies)?;
    if !caller.covers(region) {
        return Err(AppError::not_found("catalog"));
    }
    Ok(store.search_catalog(region, text, 100).await?)
}

/// Adjudicates a claim under the stored policies and catalogs, storing nothing: what the
/// engine would decide, line by line, with the running totals given (none by default).
pub async fn adjudicate_preview(
    store: &Store,
    caller: &Caller,
    claim: &yibao_core::adjudicate::Claim,
    ytd: &yibao_core::adjudicate::YearToDate,
) -> Result<yibao_core::adjudicate::Outcome, AppError> {
    caller.require(Permission::ViewPolicies)?;
    if !caller.covers(claim.insuplc_admdvs) {
        return Err(out_of_scope("insuplc_admdvs"));
    }
    let rules = store.rules().await?;
    yibao_core::adjudicate::adjudicate(claim, &rules.policies, &rules.catalogs, ytd).map_err(|e| claim_problem(&e))
}

/// A claim the engine cannot adjudicate, as a 422 naming the field.
pub fn claim_problem(e: &yibao_core::adjudicate::ClaimError) -> AppError {
    AppError::validation(vec![InvalidValue::new(
        "claim",
        "invalid",
        format!("{}：{}", e.field, e.message.zh),
        format!("{}: {}", e.field, e.message.en),
    )])
}

/// The working-day calendar in use (built-in years and imported ones).
pub async fn calendar(store: &Store, caller: &Caller) -> Result<yibao_core::calendar::Calendar, AppError> {
    caller.require(Permission::ViewPolicies)?;
    Ok(store.calendar().await?)
}

/// Imports calendar years (the State Council's notice for a new year, or a correction).
pub async fn import_calendar(
    store: &Store,
    caller: &Caller,
    document: &str,
) -> Result<yibao_store::CalendarImport, AppError> {
    caller.require(Permission::ManagePolicies)?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let import = store.import_calendar(&mut w, document).await?;
    w.commit().await?;
    Ok(import)
}

/// The problem for an import (a catalog, a diagnosis list) of which no row could be stored:
/// the first refused rows, each as (line, column — may be empty —, why in Chinese, in English).
pub(crate) fn nothing_imported<'a>(rows: impl Iterator<Item = (u64, &'a str, &'a str, &'a str)>) -> AppError {
    let mut e = AppError::new(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        "nothing_imported",
        "文件中没有可以导入的行",
        "no row of the file could be imported",
    );
    e.field_errors = rows
        .take(20)
        .map(|(line, field, zh, en)| {
            let at = if field.is_empty() { String::new() } else { format!(" {field}") };
            yibao_core::InvalidValue::new(
                "file",
                "rejected_row",
                format!("第{line}行{at}：{zh}"),
                format!("line {line}{at}: {en}"),
            )
        })
        .collect();
    e
}
