//! The API and portal over HTTP, on SQLite and (where reachable) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "api/audit_log.rs"]
mod audit_log;
mod common;
#[path = "api/cover.rs"]
mod cover;
#[path = "api/find.rs"]
mod find;
#[path = "api/logins.rs"]
mod logins;

use common::{portal_session, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use yibao_store::testing::TestDb;

/// Who calls: a demo account (bearer token; `hospital` is the demo hospital's medical
/// insurance office), the demo hospital's API key (`apikey`), or nobody.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Account(&'static str),
    Hospital,
    Anonymous,
}

const EVERYONE: &[Who] = &[
    Who::Account("admin"),
    Who::Account("clerk"),
    Who::Account("reviewer"),
    Who::Account("reviewer2"),
    Who::Account("auditor"),
    Who::Account("finance"),
    Who::Account("policy"),
    Who::Account("zhangsan"),
    Who::Account("unit"),
    Who::Account("hospital"),
    Who::Hospital,
    Who::Anonymous,
];

fn new_person_body() -> Value {
    json!({
        "resident_id": "620302199001010012", "name": "新登记", "enrolment": "resident",
        "category": "resident_adult", "insured_region": "620302", "hukou_region": "620302",
        "status": "active", "status_from": "2026-01-01"
    })
}

fn new_institution_body() -> Value {
    json!({
        "code": "H62032100099", "name": "永昌县新城社区卫生服务中心", "region": "620321",
        "tier": "community", "grade": "1", "designated_from": "2026-01-01"
    })
}

/// The allowed/forbidden matrix, written out by hand: (method, path, body, who gets the
/// success status). Everyone else authenticated gets 403 (API) or a 403 page; anonymous
/// callers get 401 on the API and a redirect to the log-in page on the portal.
/// (method, path, body, success status, who may)
type MatrixRow = (Method, &'static str, Option<Value>, StatusCode, Vec<&'static str>);

fn matrix() -> Vec<MatrixRow> {
    use StatusCode as S;
    let staff_read = vec!["clerk", "reviewer", "reviewer2", "auditor", "finance"];
    let staff = vec!["clerk", "reviewer", "reviewer2", "auditor", "finance", "policy", "admin"];
    let detail = vec!["clerk", "reviewer", "reviewer2", "auditor", "zhangsan"];
    let institutions =
        vec!["admin", "clerk", "reviewer", "reviewer2", "auditor", "finance", "policy", "zhangsan", "unit"];
    let all_accounts = institutions.clone();
    let rules_read = vec!["clerk", "reviewer", "reviewer2", "auditor", "policy"];
    let cover_staff = vec!["clerk", "reviewer", "reviewer2", "auditor"];
    // The demo hospital, by its API key or logged in to the portal.
    let hospital = vec!["apikey", "hospital"];
    let cover = [cover_staff.clone(), vec!["zhangsan"], hospital.clone()].concat();
    let referral_readers = [cover_staff.clone(), hospital.clone()].concat();
    vec![
        (Method::GET, "/api/v1/me", None, S::OK, [all_accounts.clone(), hospital.clone()].concat()),
        (Method::GET, "/api/v1/me/notices", None, S::OK, [all_accounts.clone(), hospital.clone()].concat()),
        // Changing one's own password (the current one given wrong: 422 for every account).
        (
            Method::POST,
            "/api/v1/me/password",
            Some(json!({"current": "not-it-2026", "new": "Other2026x"})),
            S::UNPROCESSABLE_ENTITY,
            [all_accounts.clone(), vec!["hospital"]].concat(),
        ),
        (Method::GET, "/password", None, S::OK, [all_accounts.clone(), vec!["hospital"]].concat()),
        (Method::GET, "/api/v1/persons", None, S::OK, staff_read.clone()),
        // Person 1 is 张三 (the zhangsan account's own record) in Jinchang.
        (Method::GET, "/api/v1/persons/1", None, S::OK, [staff_read.clone(), vec!["zhangsan"]].concat()),
        (Method::GET, "/api/v1/persons/1/history", None, S::OK, detail.clone()),
        (Method::POST, "/api/v1/persons", Some(new_person_body()), S::CREATED, vec!["clerk"]),
        // Confirming a registered bank account (at a version nobody was shown: 409 once allowed).
        (
            Method::POST,
            "/api/v1/persons/1/bank-account/confirm",
            Some(json!({"version": 999})),
            S::CONFLICT,
            vec!["clerk", "zhangsan"],
        ),
        (
            Method::POST,
            "/api/v1/employers/1/bank-account/confirm",
            Some(json!({"version": 999})),
            S::CONFLICT,
            vec!["clerk", "unit"],
        ),
        (Method::GET, "/api/v1/employers", None, S::OK, [staff_read.clone(), vec!["policy"]].concat()),
        (Method::GET, "/api/v1/employers/1", None, S::OK, [staff_read.clone(), vec!["policy"]].concat()),
        (Method::GET, "/api/v1/institutions", None, S::OK, institutions.clone()),
        (Method::GET, "/api/v1/institutions/1", None, S::OK, [institutions.clone(), hospital.clone()].concat()),
        (Method::POST, "/api/v1/institutions", Some(new_institution_body()), S::CREATED, vec!["policy"]),
        (Method::GET, "/api/v1/institution/self", None, S::OK, hospital.clone()),
        (Method::GET, "/api/v1/audit", None, S::OK, vec!["auditor", "admin"]),
        (Method::GET, "/api/v1/accounts", None, S::OK, vec!["admin"]),
        (Method::GET, "/", None, S::OK, [all_accounts.clone(), vec!["hospital"]].concat()),
        (Method::GET, "/persons", None, S::OK, staff_read.clone()),
        (Method::GET, "/persons/1", None, S::OK, [staff_read.clone(), vec!["zhangsan"]].concat()),
        (Method::GET, "/persons/new", None, S::OK, vec!["clerk"]),
        (Method::GET, "/employers", None, S::OK, [staff_read.clone(), vec!["policy"]].concat()),
        (Method::GET, "/employers/new", None, S::OK, vec!["clerk"]),
        (Method::GET, "/employers/1/edit", None, S::OK, vec!["clerk"]),
        (Method::GET, "/institutions", None, S::OK, institutions.clone()),
        (Method::GET, "/institutions/new", None, S::OK, vec!["policy"]),
        (Method::GET, "/institutions/1/edit", None, S::OK, vec!["policy"]),
        (Method::GET, "/accounts/new", None, S::OK, vec!["admin"]),
        (Method::GET, "/me", None, S::OK, vec!["zhangsan"]),
        (Method::GET, "/audit", None, S::OK, vec!["auditor", "admin"]),
        (Method::GET, "/audit/1", None, S::OK, vec!["auditor", "admin"]),
        (Method::GET, "/audit.csv?action=account.", None, S::OK, vec!["auditor", "admin"]),
        (Method::GET, "/api/v1/audit/1", None, S::OK, vec!["auditor", "admin"]),
        (Method::GET, "/api/v1/search?q=%E9%87%91%E6%98%8C", None, S::OK, staff.clone()),
        (Method::GET, "/api/v1/claims/workload", None, S::OK, vec!["reviewer2"]),
        (Method::GET, "/search?q=%E9%87%91%E6%98%8C", None, S::OK, staff.clone()),
        (Method::GET, "/accounts", None, S::OK, vec!["admin"]),
        (Method::GET, "/accounts/3", None, S::OK, vec!["admin"]),
        (Method::POST, "/api/v1/accounts/3/unlock", None, S::OK, vec!["admin"]),
        (Method::GET, "/api/v1/policies", None, S::OK, rules_read.clone()),
        (Method::GET, "/api/v1/policies/1", None, S::OK, rules_read.clone()),
        (Method::POST, "/api/v1/policies", Some(Value::String(policy_v3())), S::CREATED, vec!["policy"]),
        (Method::GET, "/api/v1/catalogs", None, S::OK, rules_read.clone()),
        (Method::GET, "/api/v1/catalogs/1", None, S::OK, rules_read.clone()),
        (
            Method::POST,
            "/api/v1/catalogs?file_name=t.csv",
            Some(Value::String(one_row_catalog())),
            S::CREATED,
            vec!["policy"],
        ),
        (Method::GET, "/api/v1/catalog-entries?region=620300&q=XA01", None, S::OK, rules_read.clone()),
        // The diagnosis list: the policy administrator imports it; anyone logged in finds
        // diagnoses (and, in the portal, catalog items) by name.
        (
            Method::POST,
            "/api/v1/diagnoses?file_name=d.csv",
            Some(Value::String("诊断编码,诊断名称\nZ00.0,一般医学检查\n".into())),
            S::CREATED,
            vec!["policy"],
        ),
        (
            Method::GET,
            "/api/v1/diagnoses?q=gxy",
            None,
            S::OK,
            [all_accounts.clone(), vec!["hospital", "apikey"]].concat(),
        ),
        (Method::GET, "/diagnoses/suggest?q=gxy", None, S::OK, [all_accounts.clone(), vec!["hospital"]].concat()),
        (Method::GET, "/catalog/suggest?q=amxl", None, S::OK, [all_accounts.clone(), vec!["hospital"]].concat()),
        (Method::GET, "/policies", None, S::OK, rules_read.clone()),
        (Method::GET, "/policies/1", None, S::OK, rules_read.clone()),
        (Method::GET, "/catalogs", None, S::OK, rules_read.clone()),
        (Method::GET, "/catalogs/1", None, S::OK, rules_read.clone()),
        (Method::GET, "/catalogs?region=620300&q=%E9%98%BF%E8%8E%AB", None, S::OK, rules_read.clone()),
        (
            Method::POST,
            "/api/v1/adjudicate/preview",
            Some(json!({ "claim": inpatient_claim() })),
            S::OK,
            rules_read.clone(),
        ),
        (Method::GET, "/api/v1/calendar?from=2026-09-24&days=15", None, S::OK, rules_read.clone()),
        // Filings and cards: the clerk for persons in scope, the person for their own.
        (Method::GET, "/api/v1/filings", None, S::OK, vec!["clerk"]),
        (Method::GET, "/api/v1/filings/1", None, S::OK, vec!["clerk", "auditor", "zhangsan"]),
        // Audit: filing 2 is the demo's referral, pre-evaluated before it was approved; audit
        // task 1 the on-site audit of 张三's stay, task 2 the referred person's re-check.
        (Method::GET, "/filings/2", None, S::OK, vec!["clerk", "auditor"]),
        (Method::GET, "/api/v1/filings/2/pre-evaluation", None, S::OK, vec!["clerk", "auditor"]),
        (
            Method::POST,
            "/api/v1/filings/2/pre-evaluation",
            Some(json!({"note": ""})),
            S::UNPROCESSABLE_ENTITY,
            vec!["clerk"],
        ),
        (
            Method::PUT,
            "/api/v1/filings/2/pre-evaluation",
            Some(json!({"version": 1, "condition": "", "diagnosis_code": "x", "diagnosis_name": "",
                "surgery_planned": false, "treatment": ""})),
            S::UNPROCESSABLE_ENTITY,
            vec!["clerk", "auditor"],
        ),
        (Method::GET, "/api/v1/audit-tasks", None, S::OK, vec!["auditor"]),
        (Method::GET, "/api/v1/audit-tasks/1", None, S::OK, vec!["auditor"]),
        (Method::GET, "/audit-tasks", None, S::OK, vec!["auditor"]),
        (Method::GET, "/audit-tasks/1", None, S::OK, vec!["auditor"]),
        (
            Method::POST,
            "/api/v1/audit-tasks",
            Some(json!({"kind": "on_site", "person_id": 1, "place": "", "due_on": "2026-11-30"})),
            S::UNPROCESSABLE_ENTITY,
            vec!["auditor"],
        ),
        (
            Method::POST,
            "/api/v1/audit-tasks/1/conclusion",
            Some(json!({"version": 1, "visited_on": "2026-11-23", "findings": "", "conclusion": "confirmed"})),
            S::UNPROCESSABLE_ENTITY,
            vec!["auditor"],
        ),
        (Method::GET, "/api/v1/persons/1/filings", None, S::OK, vec!["clerk", "zhangsan"]),
        (Method::GET, "/api/v1/persons/1/cards", None, S::OK, vec!["clerk", "zhangsan"]),
        (
            Method::POST,
            "/api/v1/filings/3/decision",
            Some(json!({ "version": 1, "decision": "reject", "reason": "missing_documents" })),
            S::OK,
            vec!["clerk"],
        ),
        // Institutions ask by the resident ID number, never by yibao's own person number.
        (
            Method::GET,
            "/api/v1/cover?person_id=1&institution=H11010100001",
            None,
            S::OK,
            [cover_staff.clone(), vec!["zhangsan"]].concat(),
        ),
        (Method::GET, "/api/v1/cover?resident_id=620302198506120036", None, S::OK, cover.clone()),
        (Method::GET, "/api/v1/referrals/{referral}", None, S::OK, referral_readers),
        (Method::POST, "/api/v1/referrals", Some(referral_body()), S::CREATED, hospital.clone()),
        (Method::GET, "/my/cover", None, S::OK, vec!["zhangsan"]),
        // Settlements: the person, staff who see the person in full, and (for one it made)
        // the hospital. The demo's first settlement is 张三's at the central hospital.
        (Method::GET, "/my/settlements", None, S::OK, vec!["zhangsan"]),
        (Method::GET, "/persons/1/settlements", None, S::OK, detail.clone()),
        (Method::GET, "/api/v1/persons/1/settlements", None, S::OK, detail.clone()),
        (
            Method::GET,
            "/api/v1/settlements/620302000000000001",
            None,
            S::OK,
            [detail.clone(), hospital.clone()].concat(),
        ),
        (Method::GET, "/settlements/620302000000000001", None, S::OK, [detail.clone(), vec!["hospital"]].concat()),
        (
            Method::GET,
            "/calendar?from=2026-09-24&days=15",
            None,
            S::OK,
            vec!["clerk", "reviewer", "reviewer2", "auditor", "policy"],
        ),
        (Method::GET, "/filings", None, S::OK, vec!["clerk"]),
        (Method::GET, "/persons/1/cover", None, S::OK, [cover_staff.clone(), vec!["zhangsan"]].concat()),
        (
            Method::GET,
            "/cover?resident_id=620302198506120036",
            None,
            S::SEE_OTHER,
            [cover_staff.clone(), vec!["hospital"]].concat(),
        ),
        // The institution's desk: its staff, in the portal.
        (Method::GET, "/check?resident_id=620302198506120036", None, S::OK, vec!["hospital"]),
        (Method::GET, "/referrals", None, S::OK, [cover_staff.clone(), vec!["hospital"]].concat()),
        (Method::GET, "/referrals?number={referral}", None, S::OK, [cover_staff.clone(), vec!["hospital"]].concat()),
        // Printed papers (pages: not to an API key): the demo's certificate for its hospital
        // and the agency; 张三's approved filing 1 and claim 1 receipts for him and the staff
        // who read them.
        (Method::GET, "/referrals/{referral}/print", None, S::OK, [cover_staff.clone(), vec!["hospital"]].concat()),
        (Method::GET, "/filings/1/receipt", None, S::OK, vec!["clerk", "auditor", "zhangsan"]),
        (Method::GET, "/claims/1/receipt", None, S::OK, [staff_read.clone(), vec!["zhangsan"]].concat()),
        (Method::POST, "/api/v1/calendar", Some(Value::String(calendar_2027())), S::CREATED, vec!["policy"]),
        // Sporadic claims: claim 1 is 张三's approved demo claim (decided, so a step on it is
        // refused as a transition — after the permission check).
        (Method::GET, "/api/v1/claim-rules/620302", None, S::OK, [all_accounts.clone(), hospital.clone()].concat()),
        (Method::GET, "/api/v1/claims", None, S::OK, staff_read.clone()),
        (Method::GET, "/api/v1/claims/1", None, S::OK, [staff_read.clone(), vec!["zhangsan"]].concat()),
        // The unit lists only the claims it handed in for its employee 张三 (none here).
        (Method::GET, "/api/v1/persons/1/claims", None, S::OK, [staff_read.clone(), vec!["zhangsan", "unit"]].concat()),
        (Method::GET, "/api/v1/my/delegations", None, S::OK, vec!["zhangsan"]),
        // The claim pages: the guide for anyone logged in to the portal, the form for the
        // person and the clerk (at the window), the queue for claim staff.
        (
            Method::GET,
            "/claims/guide?case=offsite_inpatient",
            None,
            S::OK,
            [all_accounts.clone(), vec!["hospital"]].concat(),
        ),
        (Method::GET, "/claims/new?case=offsite_inpatient", None, S::OK, vec!["clerk", "zhangsan", "unit"]),
        (Method::GET, "/unit/claims", None, S::OK, vec!["unit"]),
        (Method::GET, "/my/claims", None, S::OK, vec!["zhangsan"]),
        (Method::GET, "/claims", None, S::OK, staff_read.clone()),
        (Method::GET, "/claims/1", None, S::OK, [staff_read.clone(), vec!["zhangsan"]].concat()),
        (Method::GET, "/claims/1/statement.csv", None, S::OK, [staff_read.clone(), vec!["zhangsan"]].concat()),
        (Method::GET, "/institution/settlements", None, S::OK, vec!["hospital"]),
        (Method::GET, "/institution/interface", None, S::OK, vec!["hospital"]),
        // Payments: claim 1 is the demo's paid claim, batch 1 its closed batch.
        (Method::GET, "/payments", None, S::OK, vec!["auditor", "finance"]),
        (Method::GET, "/payments/batches/1", None, S::OK, vec!["auditor", "finance"]),
        (Method::GET, "/api/v1/payments/orders", None, S::OK, vec!["auditor", "finance"]),
        // Supervision: the rule base, a claim's hits (staff only), the queue, a decision (a
        // reason missing: 422 once allowed).
        (Method::GET, "/api/v1/rule-bases/620300", None, S::OK, rules_read.clone()),
        (Method::GET, "/api/v1/rule-bases/620300/versions", None, S::OK, rules_read.clone()),
        // Contributions: the rules; the demo unit's bills (the unit, clerks, finance and
        // auditors), its declaration (the unit and clerks), a payment (finance: January is
        // paid already), a receipt file, a person's months paid.
        (
            Method::POST,
            "/api/v1/contribution-rules",
            Some(Value::String(yibao_demo::DEMO_CONTRIBUTION_RULES.replace("version = 1", "version = 2"))),
            S::CREATED,
            vec!["policy"],
        ),
        (Method::GET, "/api/v1/contribution-rules/620300/2026", None, S::OK, rules_read.clone()),
        (Method::GET, "/api/v1/employers/1/bills", None, S::OK, vec!["clerk", "auditor", "finance", "unit"]),
        (Method::GET, "/api/v1/employers/2/bills", None, S::OK, vec!["clerk", "auditor", "finance"]),
        (Method::GET, "/api/v1/contribution-bills/1", None, S::OK, vec!["clerk", "auditor", "finance", "unit"]),
        (
            Method::POST,
            "/api/v1/employers/1/declarations",
            Some(json!({"month": "2026-11", "lines": [{"resident_id": "620302198506120036", "wage": "8000.00"}]})),
            S::CREATED,
            vec!["clerk", "unit"],
        ),
        (
            Method::POST,
            "/api/v1/contribution-bills/1/payment",
            Some(json!({"amount": "1.00", "paid_on": "2026-11-20", "reference": "ZS"})),
            S::UNPROCESSABLE_ENTITY,
            vec!["finance"],
        ),
        (
            Method::POST,
            "/api/v1/contribution-payments",
            Some(Value::String("credit_code,month,amount,paid_on,reference\n".into())),
            S::OK,
            vec!["finance"],
        ),
        (Method::GET, "/api/v1/persons/1/contributions", None, S::OK, detail.clone()),
        (Method::GET, "/unit/contributions", None, S::OK, vec!["unit"]),
        (Method::GET, "/employers/1/contributions", None, S::OK, vec!["clerk", "auditor", "finance", "unit"]),
        (Method::GET, "/my/contributions", None, S::OK, vec!["zhangsan"]),
        // The individual account and 门诊共济: the holder's own.
        (Method::GET, "/api/v1/my/account", None, S::OK, vec!["zhangsan"]),
        (Method::GET, "/my/account", None, S::OK, vec!["zhangsan"]),
        (
            Method::POST,
            "/api/v1/my/family",
            Some(json!({ "member_id": yibao_demo::DEMO_MOTHER_ID, "member_name": "李秀兰", "relation": "spouse" })),
            S::UNPROCESSABLE_ENTITY,
            vec!["zhangsan"],
        ),
        (Method::GET, "/contributions", None, S::OK, vec!["auditor", "finance"]),
        (
            Method::POST,
            "/api/v1/employers/1/declarations/2026-11/file",
            Some(Value::String("身份证号,月工资\n620302198506120036,8000.00\n".into())),
            S::CREATED,
            vec!["clerk", "unit"],
        ),
        // Withdrawals: a clerk records, finance decides, the holder reads their own (the
        // demo's waiting one is a colleague's, not 张三's).
        (Method::GET, "/api/v1/withdrawals", None, S::OK, vec!["auditor", "finance"]),
        (Method::GET, "/api/v1/withdrawals/1", None, S::OK, vec!["clerk", "auditor", "finance"]),
        (Method::GET, "/withdrawals", None, S::OK, vec!["auditor", "finance"]),
        (Method::GET, "/withdrawals/1", None, S::OK, vec!["clerk", "auditor", "finance"]),
        (Method::GET, "/api/v1/persons/1/withdrawals", None, S::OK, vec!["clerk", "auditor", "finance", "zhangsan"]),
        (Method::GET, "/persons/1/withdrawals", None, S::OK, vec!["clerk", "auditor", "finance", "zhangsan"]),
        (
            Method::POST,
            "/api/v1/withdrawals/1/decision",
            Some(json!({ "version": 99, "approve": true })),
            S::CONFLICT,
            vec!["finance"],
        ),
        // The demo's withdrawal waits: no payment order yet.
        (Method::GET, "/api/v1/withdrawals/1/payment", None, S::NOT_FOUND, vec!["clerk", "auditor", "finance"]),
        (
            Method::PUT,
            "/api/v1/withdrawals/1/payment/account",
            Some(json!({ "bank_name": "中国银行",
                "bank_card": yibao_core::BankCardNumber::complete("621700271000000000").unwrap().to_string() })),
            S::NOT_FOUND,
            vec!["clerk"],
        ),
        (
            Method::POST,
            "/api/v1/withdrawals/1/payment/account/confirm",
            Some(json!({ "version": 1 })),
            S::NOT_FOUND,
            vec!["clerk"],
        ),
        (
            Method::POST,
            "/api/v1/persons/1/withdrawals",
            Some(json!({ "reason": "window", "amount": "1.00", "papers": ["card"] })),
            S::UNPROCESSABLE_ENTITY,
            vec!["clerk"],
        ),
        // Paying online needs no account.
        (Method::GET, "/pay", None, S::OK, [all_accounts.clone(), vec!["hospital", "apikey", "anonymous"]].concat()),
        (
            Method::POST,
            "/api/v1/rule-bases/620300",
            Some(Value::String(yibao_demo::DEMO_RULE_BASE.replace("version = 1", "version = 2"))),
            S::CREATED,
            vec!["policy"],
        ),
        (Method::GET, "/api/v1/claims/1/hits", None, S::OK, staff_read.clone()),
        (Method::GET, "/api/v1/claims/1/comparison", None, S::OK, staff_read.clone()),
        (
            Method::GET,
            "/api/v1/settlements/620302000000000001/comparison",
            None,
            S::OK,
            vec!["reviewer", "reviewer2", "auditor"],
        ),
        (Method::GET, "/api/v1/hits", None, S::OK, vec!["reviewer", "reviewer2", "auditor"]),
        (Method::GET, "/api/v1/hits?queue=mine", None, S::OK, vec!["reviewer", "reviewer2", "auditor"]),
        // Each insured person reads their own messages.
        (Method::GET, "/my/messages", None, S::OK, vec!["zhangsan"]),
        // The registry is public: anyone logged in is offered hospitals by name.
        (
            Method::GET,
            "/institutions/suggest?q=%E5%85%B0%E5%B7%9E",
            None,
            S::OK,
            [all_accounts.clone(), vec!["hospital", "apikey"]].concat(),
        ),
        (
            Method::GET,
            "/regions/suggest?q=%E9%87%91%E6%98%8C",
            None,
            S::OK,
            [all_accounts.clone(), vec!["hospital", "apikey"]].concat(),
        ),
        (Method::GET, "/hits?queue=untaken", None, S::OK, vec!["reviewer", "reviewer2", "auditor"]),
        // Nobody took hit 1: letting go of it is refused to those who may take it.
        (
            Method::POST,
            "/api/v1/hits/1/take",
            Some(json!({"take": false})),
            S::UNPROCESSABLE_ENTITY,
            vec!["reviewer", "reviewer2", "auditor"],
        ),
        // The demo's task 1 was sent to `auditor`: nobody takes it again.
        (Method::POST, "/api/v1/audit-tasks/1/take", None, S::UNPROCESSABLE_ENTITY, vec!["auditor"]),
        // Clearing and the fund's books.
        (Method::GET, "/api/v1/clearings", None, S::OK, vec!["auditor", "finance", "hospital", "apikey"]),
        (Method::GET, "/clearings", None, S::OK, vec!["auditor", "finance", "hospital", "apikey"]),
        (Method::GET, "/api/v1/assessments", None, S::OK, vec!["auditor", "finance", "hospital", "apikey"]),
        (
            Method::POST,
            "/api/v1/assessments",
            Some(json!({"institution": "H62030200001", "year": 2026, "score": 90})),
            S::UNPROCESSABLE_ENTITY,
            vec!["auditor"],
        ),
        (Method::GET, "/api/v1/books", None, S::OK, vec!["auditor", "finance"]),
        (Method::GET, "/hits", None, S::OK, vec!["reviewer", "reviewer2", "auditor"]),
        (Method::GET, "/api/v1/hits/1", None, S::OK, vec!["reviewer", "reviewer2", "auditor"]),
        (Method::GET, "/api/v1/reports/rescue-admissions", None, S::OK, vec!["reviewer", "reviewer2", "auditor"]),
        (Method::GET, "/api/v1/institution-findings", None, S::OK, vec!["reviewer", "reviewer2", "auditor"]),
        // Auditors decide institution findings (the demo's outlier), with a reason.
        (
            Method::POST,
            "/api/v1/institution-findings/1/decision",
            Some(json!({"clear": true, "reason": " "})),
            S::UNPROCESSABLE_ENTITY,
            vec!["auditor"],
        ),
        // The medical history file: staff who see the person in full and the person; the
        // auditor adds to it.
        (Method::GET, "/api/v1/persons/1/medical-history", None, S::OK, detail.clone()),
        (Method::GET, "/persons/1/medical-history", None, S::OK, detail.clone()),
        (
            Method::POST,
            "/api/v1/persons/1/medical-history",
            Some(json!({"kind": "allergy", "name": "磺胺类药物过敏", "noted_on": "2026-11-01",
                "source": "document", "source_ref": "出院记录"})),
            S::CREATED,
            vec!["auditor"],
        ),
        (Method::GET, "/hits/1", None, S::OK, vec!["reviewer", "reviewer2", "auditor"]),
        (
            Method::GET,
            "/api/v1/settlements/620302000000000001/hits",
            None,
            S::OK,
            vec!["reviewer", "reviewer2", "auditor"],
        ),
        (
            Method::POST,
            "/api/v1/hits/1/decision",
            Some(json!({"clear": true, "reason": ""})),
            S::UNPROCESSABLE_ENTITY,
            vec!["reviewer", "reviewer2", "auditor"],
        ),
        (Method::GET, "/api/v1/payments/batches/1", None, S::OK, vec!["auditor", "finance"]),
        (Method::GET, "/api/v1/claims/1/payment", None, S::OK, [staff_read.clone(), vec!["zhangsan"]].concat()),
        (
            Method::PUT,
            "/api/v1/claims/1/payment/account",
            Some(json!({"bank_name": "中国农业银行", "bank_card": "6228480010000000009"})),
            S::UNPROCESSABLE_ENTITY,
            vec!["clerk", "zhangsan"],
        ),
        (
            Method::POST,
            "/api/v1/payments/batches",
            Some(json!({"region": "620300", "up_to": "2026-11-23"})),
            S::CREATED,
            vec!["finance"],
        ),
        (Method::POST, "/api/v1/payments/batches/1/approve", None, S::UNPROCESSABLE_ENTITY, vec!["finance"]),
        (
            Method::POST,
            "/api/v1/payments/results",
            Some(Value::String("H,PB000,0,0.00\n".into())),
            S::UNPROCESSABLE_ENTITY,
            vec!["finance"],
        ),
        (
            Method::POST,
            "/api/v1/claims/1/steps",
            Some(json!({"action": "accept"})),
            S::UNPROCESSABLE_ENTITY,
            vec!["clerk"],
        ),
        (
            Method::POST,
            "/api/v1/claims/1/steps",
            Some(json!({"action": "take"})),
            S::UNPROCESSABLE_ENTITY,
            vec!["reviewer", "reviewer2"],
        ),
        (
            Method::POST,
            "/api/v1/claims/1/steps",
            Some(json!({"action": "second_review", "approve": true})),
            S::UNPROCESSABLE_ENTITY,
            vec!["reviewer2"],
        ),
    ]
}

/// Who may see records of a kind but not the one asked for, and is told it does not exist
/// (404) rather than forbidden: the employer unit, for 张三's own claim 1 (it did not hand
/// it in). Steps only staff take are forbidden outright.
fn hidden(path: &str, who: &str) -> bool {
    // A unit is not told whether another unit's claims or bills exist.
    (who == "unit"
        && ((path.contains("/claims/1") && !path.ends_with("/steps")) || path.starts_with("/api/v1/employers/2/")))
        // Nor 张三 whether another person's withdrawal exists.
        || (who == "zhangsan" && (path.ends_with("/withdrawals/1") || path.contains("/withdrawals/1/payment")))
}

/// A referral certificate for 张三 to Beijing, as the demo hospital issues it.
fn referral_body() -> Value {
    json!({
        "resident_id": "620302198506120036", "diagnosis": "肺占位性病变", "destination": "110000",
        "valid_from": "2026-11-23", "valid_to": "2027-01-31", "hospital_seal_by": "医务科 周立"
    })
}

fn inpatient_claim() -> Value {
    serde_json::from_str(include_str!("../../../docs/formats/examples/claim-inpatient.json")).unwrap()
}

/// A (hypothetical) 2027 schedule, as a policy administrator would import it.
fn calendar_2027() -> String {
    "[[year]]\nyear = 2027\nsource = \"国务院办公厅关于2027年部分节假日安排的通知\"\n\
     holidays = [\"2027-01-01\"]\nworkdays = []\n"
        .to_string()
}

/// The demo employee policy as a new version (3), sent as text.
fn policy_v3() -> String {
    yibao_demo::DEMO_POLICIES[0].replacen("version = 1", "version = 3", 1)
}

const CATALOG_HEAD: &str =
    "admdvs,med_list_codg,name,list_type,chrgitm_lv,selfpay_prop,pric_uplmt_amt,begndate,enddate,lmt_dise,lmt_hosp_lv,lmt_cnt\n";

fn one_row_catalog() -> String {
    format!("{CATALOG_HEAD}620300,XJ01CAA099C001000100001,阿莫西林克拉维酸钾片,,02,0.10,,2026-01-01,,,,\n")
}

#[tokio::test]
async fn every_endpoint_with_every_role() {
    for db in TestDb::all().await {
        let label = db.label;
        let app = spawn_app(db).await;
        let mut tokens = Vec::new();
        for who in EVERYONE {
            if let Who::Account(u) = who {
                tokens.push((*u, app.token(u).await));
            }
        }
        let mut failures = Vec::new();
        // The demo's referral certificate (its number ends in a random tail).
        let issuer = app.db.store.institution_by_code(yibao_demo::DEMO_INSTITUTION).await.unwrap();
        let referral = app.db.store.referrals_issued_by(issuer.id, 1).await.unwrap().remove(0).number;
        for (method, path, body, ok, allowed) in matrix() {
            let path = path.replace("{referral}", &referral);
            let path = path.as_str();
            for who in EVERYONE {
                let mut req = app.http.request(method.clone(), app.url(path));
                let name = match who {
                    Who::Account(u) => {
                        let t = &tokens.iter().find(|(n, _)| n == u).unwrap().1;
                        req = req.bearer_auth(t);
                        *u
                    }
                    Who::Hospital => {
                        req = req.header("x-api-key", yibao_demo::DEMO_API_KEY);
                        "apikey"
                    }
                    Who::Anonymous => "anonymous",
                };
                match &body {
                    Some(Value::String(text)) => req = req.body(text.clone()),
                    Some(b) => req = req.json(b),
                    None => {}
                }
                let status = req.send().await.unwrap().status();
                let expected = if allowed.contains(&name) {
                    ok
                } else if hidden(path, name) {
                    StatusCode::NOT_FOUND
                } else if *who == Who::Anonymous {
                    if path.starts_with("/api/") {
                        StatusCode::UNAUTHORIZED
                    } else {
                        StatusCode::SEE_OTHER
                    }
                } else {
                    StatusCode::FORBIDDEN
                };
                if status != expected {
                    failures.push(format!("{method} {path} as {name}: got {status}, expected {expected}"));
                }
            }
        }
        assert!(failures.is_empty(), "{label}: role matrix violations:\n{}", failures.join("\n"));
        app.db.cleanup().await;
    }
}

#[tokio::test]
async fn validation_errors_are_problem_json_in_both_languages() {
    for db in TestDb::all().await {
        let app = spawn_app(db).await;
        let token = app.token("clerk").await;
        let mut body = new_person_body();
        body["resident_id"] = json!("620302199001010019"); // wrong check digit
        body["insured_region"] = json!("12");
        let res = app
            .http
            .post(app.url("/api/v1/persons"))
            .bearer_auth(&token)
            .header("accept-language", "en")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["code"], "validation");
        assert_eq!(p["detail"], p["en"]);
        let fields: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["resident_id", "insured_region"]);
        assert!(p["errors"][0]["zh"].as_str().unwrap().contains("校验位"));
        assert!(!p["request_id"].as_str().unwrap().is_empty());

        // A duplicate resident ID is a 409 naming the field.
        let res = app
            .http
            .post(app.url("/api/v1/persons"))
            .bearer_auth(&token)
            .json(&json!({
            "resident_id": yibao_demo::DEMO_INSURED_ID, "name": "重复", "enrolment": "resident",
            "category": "resident_adult", "insured_region": "620302", "hukou_region": "620302",
            "status": "active", "status_from": "2026-01-01"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["errors"][0]["field"], "resident_id");
        app.db.cleanup().await;
    }
}

/// Bodies the framework refuses before any handler (not JSON, `null`, the wrong type, too
/// large) are answered as problem+json in both languages, like every other error.
#[tokio::test]
async fn refused_bodies_are_problem_json_in_both_languages() {
    let db = TestDb::sqlite().await;
    let app = spawn_app(db).await;
    let token = app.token("clerk").await;
    let post = |path: &str, content_type: &str, body: Vec<u8>| {
        app.http.post(app.url(path)).bearer_auth(&token).header("content-type", content_type).body(body).send()
    };
    let cases = [
        ("/api/v1/claims", "application/json", b"null".to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "malformed"),
        ("/api/v1/persons", "application/json", b"{\"name\": ".to_vec(), StatusCode::BAD_REQUEST, "malformed"),
        ("/api/v1/persons", "text/plain", b"{}".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (
            "/api/v1/persons",
            "application/json",
            vec![b' '; 3 * 1024 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
    ];
    for (path, content_type, body, status, code) in cases {
        let res = post(path, content_type, body).await.unwrap();
        assert_eq!(res.status(), status, "{path} {content_type}");
        assert_eq!(res.headers()["content-type"], "application/problem+json", "{path} {content_type}");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["code"], code, "{p}");
        assert!(p["zh"].as_str().is_some_and(|z| z.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))), "{p}");
        assert!(p["en"].as_str().is_some_and(|e| !e.is_empty()) && !p["request_id"].as_str().unwrap().is_empty());
    }
    app.db.cleanup().await;
}

/// Free text is bounded wherever it is accepted, before anything is stored: a JSON field, a
/// portal form's field and an uploaded file's name may hold no control or text-direction
/// character (U+202E makes `gpj.exe` read as `exe.jpg`), no field more than 1,000 characters,
/// and no date a year outside 1900–2099.
#[tokio::test]
async fn free_text_is_bounded_and_holds_no_control_or_direction_character() {
    let db = TestDb::sqlite().await;
    let app = spawn_app(db).await;
    let token = app.token("clerk").await;
    let persons = app.db.count("persons").await;
    let with = |field: &str, value: Value| {
        let mut body = new_person_body();
        body[field] = value;
        body
    };
    let cases = [
        (with("name", json!("\u{202e}三张")), "bad_character"),
        (with("name", json!("张\u{0}三")), "bad_character"),
        (with("status_from", json!("9999-12-31")), "bad_date"),
        (with("name", json!("张".repeat(1_001))), "too_long"),
        (with("unknown", json!(["x", { "deep": "\u{2066}" }])), "bad_character"),
    ];
    for (body, code) in cases {
        let res = app.http.post(app.url("/api/v1/persons")).bearer_auth(&token).json(&body).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["code"], code, "{p}");
        assert!(p["zh"].as_str().is_some_and(|m| !m.is_empty()) && p["en"].is_string(), "{p}");
    }
    // A portal form (URL-encoded) is checked the same way, and answered with a page.
    let res = app
        .http
        .post(app.url("/persons"))
        .form(&[("csrf", "x"), ("name", "\u{202e}三张"), ("resident_id", "620302199001010012")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("U+202E"));
    // An uploaded file's name.
    let form = reqwest::multipart::Form::new().text("kind", "invoice").part(
        "file",
        reqwest::multipart::Part::bytes(yibao_demo::DEMO_SCAN_PNG.to_vec())
            .file_name("\u{202e}gnp.exe")
            .mime_str("image/png")
            .unwrap(),
    );
    let res =
        app.http.post(app.url("/api/v1/claims/1/documents")).bearer_auth(&token).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "bad_character");
    assert_eq!(app.db.count("persons").await, persons, "nothing refused was stored");
    // Tabs and line breaks are text, and an ordinary registration still goes through.
    let ok = with("name", json!("王五"));
    let res = app.http.post(app.url("/api/v1/persons")).bearer_auth(&token).json(&ok).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    app.db.cleanup().await;
}

/// Log-in and sessions hold against the web's usual attacks: no redirect off the site after
/// log-in or a language switch (a tab, a line break, `//`, `\\`), headers that forbid framing
/// and foreign scripts, a log-in form another site cannot post, and an API log-out that
/// revokes the bearer token at once.
#[tokio::test]
async fn redirects_headers_login_form_and_api_log_out() {
    let app = spawn_app(TestDb::sqlite().await).await;
    for next in [
        "%2F%09%2Fevil.example",
        "%2F%2Fevil.example",
        "%2F%5Cevil.example",
        "https%3A%2F%2Fevil.example",
        "%2Fx%0D%0ASet-Cookie%3A%20a%3Db",
        "%2F%0A%2Fevil.example",
    ] {
        for path in [format!("/lang/en?next={next}"), format!("/login?next={next}")] {
            let res = app.http.get(app.url(&path)).send().await.unwrap();
            assert!(res.status().is_success() || res.status().is_redirection(), "{path}: {}", res.status());
            if let Some(to) = res.headers().get("location") {
                assert_eq!(to, "/", "{path}");
            } else {
                let html = res.text().await.unwrap();
                assert!(html.contains("name=\"next\" value=\"/\""), "{path}");
            }
        }
    }
    let res = app.http.get(app.url("/lang/en?next=%2Fclaims%3Fstate%3Dsubmitted")).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/claims?state=submitted", "a same-site path is kept");

    let res = app.http.get(app.url("/login")).send().await.unwrap();
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert_eq!(res.headers()["referrer-policy"], "same-origin");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers().get("strict-transport-security").is_none(), "HSTS only behind HTTPS");
    let html = res.text().await.unwrap();
    assert!(!html.contains("onclick=") && !html.contains("<script>"), "no inline script");

    // A log-in posted without the form's token (from another site) is refused.
    let res = app.http.post(app.url("/login")).form(&[("username", "clerk"), ("password", "demo2026")]).send().await;
    assert_eq!(res.unwrap().status(), StatusCode::FORBIDDEN);

    // The API's log-out revokes the bearer token.
    let token = app.token("clerk").await;
    let me = || app.http.get(app.url("/api/v1/me")).bearer_auth(&token).send();
    assert_eq!(me().await.unwrap().status(), StatusCode::OK);
    let out = app.http.post(app.url("/api/v1/logout")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(me().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    app.db.cleanup().await;
}

/// A referral certificate (it names the patient and the diagnosis) opens only for its issuing
/// and destination institutions, the person, and staff of the person's region; another
/// hospital is told it does not exist, and its numbers cannot be guessed from one another.
#[tokio::test]
async fn a_referral_opens_only_for_its_own_institutions() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let issuer = app.db.store.institution_by_code(yibao_demo::DEMO_INSTITUTION).await.unwrap();
        let referral = app.db.store.referrals_issued_by(issuer.id, 1).await.unwrap().remove(0);
        // Another hospital, with an API key of its own.
        let other = app.db.store.institution_by_code("H62030200002").await.unwrap();
        let mut w = app.db.store.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
        let key = app.db.store.issue_api_key(&mut w, other.id, "test").await.unwrap();
        w.commit().await.unwrap();
        let get = |number: String, key: &'static str| {
            let key = if key == "demo" { yibao_demo::DEMO_API_KEY.to_string() } else { key.to_string() };
            app.http.get(app.url(&format!("/api/v1/referrals/{number}"))).header("x-api-key", key).send()
        };
        assert_eq!(get(referral.number.clone(), "demo").await.unwrap().status(), StatusCode::OK, "{l}: the issuer");
        let res = app
            .http
            .get(app.url(&format!("/api/v1/referrals/{}", referral.number)))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{l}: another hospital");
        // Sequential guessing finds nothing: the running number alone is not a number.
        let running = &referral.number[..referral.number.len() - 6];
        assert_eq!(get(running.to_string(), "demo").await.unwrap().status(), StatusCode::NOT_FOUND, "{l}");
        app.db.cleanup().await;
    }
}

/// A hospital's key cannot walk the registry: cover is looked up by the resident ID number
/// only, names in the answer (filings included) are masked, every lookup is audited, and an
/// institution's lookups are limited per minute.
#[tokio::test]
async fn an_institution_looks_up_cover_by_id_number_masked_audited_and_limited() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let key = yibao_demo::DEMO_API_KEY;
    let get = |q: String| app.http.get(app.url(&format!("/api/v1/cover?{q}"))).header("x-api-key", key).send();
    for id in 1..=3 {
        let res = get(format!("person_id={id}")).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "resident_id_required");
    }
    let audited = "SELECT COUNT(*) FROM audit_log WHERE action = 'cover.lookup'";
    let before = app.db.number(audited).await;
    let res = get(format!("resident_id={}", yibao_demo::DEMO_INSURED_ID)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert!(!body.contains("张三") && body.contains("张*"), "names are masked, filings too: {body}");
    assert_eq!(app.db.number(audited).await, before + 1, "the lookup is audited");
    let mut limited = None;
    for n in 0..yibao_web::throttle::LOOKUPS_PER_MINUTE + 5 {
        let res = get(format!("resident_id={}", yibao_demo::DEMO_INSURED_ID)).await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(n);
            assert_eq!(res.json::<Value>().await.unwrap()["code"], "too_many_lookups");
            break;
        }
    }
    // Every lookup counts, the refused ones too: four went before the loop.
    assert_eq!(limited, Some(yibao_web::throttle::LOOKUPS_PER_MINUTE - 4), "the minute's allowance");
    app.db.cleanup().await;
}

/// The policy administrator (of 620000) edits the institutions of their own regions only:
/// a Beijing hospital does not exist for them, and none is created in 440106.
#[tokio::test]
async fn the_policy_administrator_edits_institutions_of_their_own_regions_only() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let policy = app.token("policy").await;
    let beijing = app.db.store.institution_by_code("H11010100001").await.unwrap();
    let mut edit = new_institution_body();
    edit["code"] = json!(beijing.code);
    edit["name"] = json!(beijing.name);
    edit["region"] = json!("110101");
    edit["version"] = json!(beijing.version);
    let res = app
        .http
        .put(app.url(&format!("/api/v1/institutions/{}", beijing.id)))
        .bearer_auth(&policy)
        .json(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "another province's hospital");
    let mut guangzhou = new_institution_body();
    guangzhou["code"] = json!("H44010600001");
    guangzhou["region"] = json!("440106");
    let res =
        app.http.post(app.url("/api/v1/institutions")).bearer_auth(&policy).json(&guangzhou).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.json::<Value>().await.unwrap()["errors"][0]["code"], "out_of_scope");
    let res =
        app.http.post(app.url("/api/v1/institutions")).bearer_auth(&policy).json(&new_institution_body()).send().await;
    assert_eq!(res.unwrap().status(), StatusCode::CREATED, "one of Gansu's");
    app.db.cleanup().await;
}

/// One insider cannot defeat four eyes: an administrator creates accounts only within their
/// own regions, a person has one account, and a finance, second-review or administrator
/// account waits for a second administrator before it can log in.
#[tokio::test]
async fn account_administration_is_scoped_and_money_roles_need_a_second_administrator() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let (admin, admin2) = (app.token("admin").await, app.token("admin2").await);
        let create = |body: Value| app.http.post(app.url("/api/v1/accounts")).bearer_auth(&admin).json(&body).send();
        let account = |username: &str, role: &str, scope: &[&str]| {
            json!({ "username": username, "display_name": "测试", "role": role, "password": "Passw0rd!2026",
                "scope": scope })
        };
        let res = create(account("clerk9", "intake_clerk", &["440100"])).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{l}: a region not the administrator's");
        let mut again = account("zhang2", "insured", &[]);
        again["person_id"] = json!(1);
        let res = create(again).await.unwrap();
        assert_eq!(res.status(), StatusCode::CONFLICT, "{l}: one account per person");

        let res = create(account("finance3", "finance", &["620300"])).await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "{l}");
        let created: Value = res.json().await.unwrap();
        assert_eq!(created["awaiting_approval"], true, "{l}: {created}");
        let id = created["id"].as_i64().unwrap();
        let login = || {
            app.http
                .post(app.url("/api/v1/login"))
                .json(&json!({ "username": "finance3", "password": "Passw0rd!2026" }))
                .send()
        };
        assert_eq!(login().await.unwrap().status(), StatusCode::FORBIDDEN, "{l}: not before approval");
        let approve =
            |token: &str| app.http.post(app.url(&format!("/api/v1/accounts/{id}/approve"))).bearer_auth(token).send();
        let own = approve(&admin).await.unwrap();
        assert_eq!(own.status(), StatusCode::UNPROCESSABLE_ENTITY, "{l}");
        assert!(own.text().await.unwrap().contains("four_eyes"));
        let approved = approve(&admin2).await.unwrap();
        assert_eq!(approved.status(), StatusCode::OK, "{l}");
        let approved: Value = approved.json().await.unwrap();
        // Split knowledge: the creator's password alone, or the approver's activation code
        // alone, opens nothing; the two together open it once, to set the holder's own.
        let code = approved["activation_code"].as_str().unwrap().to_string();
        let try_with = |password: String| {
            let body = json!({ "username": "finance3", "password": password });
            let req = app.http.post(app.url("/api/v1/login")).json(&body);
            async move { req.send().await.unwrap() }
        };
        assert_eq!(login().await.unwrap().status(), StatusCode::UNAUTHORIZED, "{l}: the creator's password alone");
        assert_eq!(try_with(code.clone()).await.status(), StatusCode::UNAUTHORIZED, "{l}: the code alone");
        let otp = format!("Passw0rd!2026{code}");
        let res = try_with(otp.clone()).await;
        assert_eq!(res.status(), StatusCode::OK, "{l}: both");
        let logged: Value = res.json().await.unwrap();
        assert_eq!(logged["account"]["must_change_password"], true, "{l}");
        let token = logged["token"].as_str().unwrap().to_string();
        let orders = || app.http.get(app.url("/api/v1/payments/orders")).bearer_auth(&token).send();
        let refused = orders().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{l}");
        assert!(refused.text().await.unwrap().contains("password_change_required"));
        let page = app.http.get(app.url("/")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::SEE_OTHER, "{l}: the portal sends them to the form");
        assert_eq!(page.headers()["location"], "/password");
        let change = |current: &str, new: &str| {
            let body = json!({ "current": current, "new": new });
            app.http.post(app.url("/api/v1/me/password")).bearer_auth(&token).json(&body).send()
        };
        assert_eq!(change("wrong-one1", "Mine2026ok").await.unwrap().status(), 422, "{l}: the current one is needed");
        assert_eq!(change(&otp, "short1").await.unwrap().status(), 422, "{l}: a weak one");
        assert_eq!(change(&otp, "Mine2026ok").await.unwrap().status(), 200, "{l}");
        assert_eq!(orders().await.unwrap().status(), StatusCode::OK, "{l}: at work now");
        // A clerk's account too: two clerks made by one administrator would be one person's
        // four eyes on a payee account.
        let res = create(account("clerk9", "intake_clerk", &["620300"])).await.unwrap();
        assert_eq!(res.json::<Value>().await.unwrap()["awaiting_approval"], true, "{l}");

        // Linking an account to an insured person opens their whole record: it works once an
        // intake clerk of their region has checked their identity (not another administrator).
        let person = app
            .db
            .number(
                "SELECT MIN(p.id) FROM persons p WHERE p.insured_region BETWEEN 620300 AND 620399 \
                 AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.person_id = p.id)",
            )
            .await;
        let mut linked = account("wang5", "insured", &[]);
        linked["person_id"] = json!(person);
        let res = create(linked).await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "{l}");
        let created: Value = res.json().await.unwrap();
        assert_eq!(created["awaiting_approval"], true, "{l}: {created}");
        let id = created["id"].as_i64().unwrap();
        let login = || {
            app.http.post(app.url("/api/v1/login")).json(&json!({ "username": "wang5", "password": "Passw0rd!2026" }))
        };
        assert_eq!(login().send().await.unwrap().status(), StatusCode::FORBIDDEN, "{l}: not before the check");
        let approve =
            |token: &str| app.http.post(app.url(&format!("/api/v1/accounts/{id}/approve"))).bearer_auth(token).send();
        assert_eq!(approve(&admin2).await.unwrap().status(), StatusCode::FORBIDDEN, "{l}: not an administrator");
        let clerk = app.token("clerk").await;
        let page = app.http.get(app.url(&format!("/persons/{person}"))).bearer_auth(&clerk).send().await.unwrap();
        assert!(page.text().await.unwrap().contains("id=\"identity-check\""), "{l}: the clerk is asked to check");
        let checked: Value = approve(&clerk).await.unwrap().json().await.unwrap();
        assert_eq!(
            login().send().await.unwrap().status(),
            StatusCode::UNAUTHORIZED,
            "{l}: not the administrator alone"
        );
        let code = checked["activation_code"].as_str().unwrap();
        let with = |password: String| {
            app.http.post(app.url("/api/v1/login")).json(&json!({ "username": "wang5", "password": password }))
        };
        assert_eq!(
            with(code.to_string()).send().await.unwrap().status(),
            StatusCode::UNAUTHORIZED,
            "{l}: nor the clerk alone"
        );
        let both = format!("Passw0rd!2026{code}");
        assert_eq!(with(both).send().await.unwrap().status(), StatusCode::OK, "{l}: checked, the two together");
        app.db.cleanup().await;
    }
}

/// Sensitive reads are on record: a member of staff who opens a person's full record or a
/// scan, and every log-in, success or not.
#[tokio::test]
async fn full_records_documents_and_log_ins_are_in_the_audit_log() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let count = |action: &str| format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'");
    let clerk = app.token("clerk").await;
    assert!(app.db.number(&count("login.ok")).await >= 1);
    let bad = app.http.post(app.url("/api/v1/login")).json(&json!({ "username": "clerk", "password": "x" })).send();
    assert_eq!(bad.await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.db.number(&count("login.failed")).await, 1);
    let read = app.http.get(app.url("/api/v1/persons/1")).bearer_auth(&clerk).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(app.db.number(&count("read.person")).await, 1, "the clerk's full view is on record");
    let finance = app.token("finance").await;
    let masked = app.http.get(app.url("/api/v1/persons/1")).bearer_auth(&finance).send().await.unwrap();
    assert_eq!(masked.status(), StatusCode::OK);
    assert_eq!(app.db.number(&count("read.person")).await, 1, "a masked view is not a sensitive read");
    let doc: i64 = app.db.number("SELECT MIN(id) FROM documents").await;
    let res = app.http.get(app.url(&format!("/documents/{doc}"))).bearer_auth(&clerk).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.db.number(&count("read.document")).await, 1);
    // A whole card number on a payment order, seen by staff.
    let order: i64 = app.db.number("SELECT MIN(claim_id) FROM payment_orders").await;
    let res = app.http.get(app.url(&format!("/api/v1/claims/{order}/payment"))).bearer_auth(&clerk).send().await;
    assert_eq!(res.unwrap().status(), StatusCode::OK);
    assert_eq!(app.db.number(&count("read.payment_order")).await, 1);
    app.db.cleanup().await;
}

/// The insured person never sees a staff username: on their claim, every step a member of
/// staff took is by their role and work number (「医保审核 · 工号 0004」); staff still see who
/// did what.
#[tokio::test]
async fn the_claimant_sees_insurance_staff_not_usernames() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let get = |token: String| app.http.get(app.url("/api/v1/claims/1")).bearer_auth(token).send();
    let mine: Value = get(app.token("zhangsan").await).await.unwrap().json().await.unwrap();
    let text = mine.to_string();
    for username in ["(clerk)", "(reviewer)", "(reviewer2)", "system:"] {
        assert!(!text.contains(username), "{username} shown to the claimant: {text}");
    }
    let reviewer = mine["reviewer"].as_str().unwrap_or_default();
    assert!(reviewer.starts_with("医保审核 · 工号 0") && !reviewer.contains("李明"), "{mine}");
    let theirs: Value = get(app.token("reviewer").await).await.unwrap().json().await.unwrap();
    assert!(theirs["reviewer"].as_str().is_some_and(|r| r.contains("(reviewer)")), "{theirs}");
    let page = app.http.get(app.url("/claims/1")).bearer_auth(app.token("zhangsan").await).send().await;
    let page = page.unwrap().text().await.unwrap();
    assert!(!page.contains("(reviewer)") && page.contains(reviewer), "the claim page");
    // Staff read names on the pages, never an account's label.
    let page = app.http.get(app.url("/claims/1")).bearer_auth(app.token("reviewer").await).send().await;
    let page = page.unwrap().text().await.unwrap();
    assert!(!page.contains("account:") && !page.contains("system:"), "labels on the staff's claim page: {page}");
    assert!(page.contains("审核 李明"), "the reviewer by name: {page}");
    // Nor on their filings, cards and cover.
    let zhang = app.token("zhangsan").await;
    for path in [
        "/api/v1/persons/1/filings",
        "/api/v1/persons/1/cards",
        "/api/v1/cover?person_id=1",
        "/my/cover",
        "/api/v1/persons/1/history",
    ] {
        let body = app.http.get(app.url(path)).bearer_auth(&zhang).send().await.unwrap().text().await.unwrap();
        assert!(!body.contains("(clerk)") && !body.contains("system:"), "{path}: {body}");
    }
    let staff = app.http.get(app.url("/api/v1/persons/1/filings")).bearer_auth(app.token("clerk").await).send();
    let staff = staff.await.unwrap().text().await.unwrap();
    assert!(staff.contains("account:") || staff.contains("system:"), "staff still see who did it: {staff}");
    app.db.cleanup().await;
}

#[tokio::test]
async fn scope_hides_other_regions_and_lists_are_masked() {
    for db in TestDb::all().await {
        let app = spawn_app(db).await;
        let token = app.token("clerk").await; // scoped to 620300
                                              // A Lanzhou person exists but is invisible to a Jinchang clerk.
        let lz: Value = app
            .http
            .get(app.url("/api/v1/persons?region=620100&limit=5"))
            .bearer_auth(app.token("admin").await)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(lz["code"] == "forbidden", "admin may not read the registry: {lz}");
        let page: Value = app
            .http
            .get(app.url("/api/v1/persons?limit=200"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(!items.is_empty());
        assert!(items.iter().all(|p| p["pooling_region"] == "620300"), "only Jinchang persons");
        assert!(items.iter().all(|p| p["resident_id"].as_str().unwrap().contains("**********")), "masked");
        // Find a Lanzhou person id directly in the store and ask for it.
        let q = yibao_store::PersonQuery { region: Some("620100".parse().unwrap()), limit: 1, ..Default::default() };
        let lanzhou = app.db.store.search_persons(&q).await.unwrap().items.remove(0);
        let res =
            app.http.get(app.url(&format!("/api/v1/persons/{}", lanzhou.id))).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        // The detail is whole for a clerk, masked for finance.
        let whole: Value =
            app.http.get(app.url("/api/v1/persons/1")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_eq!(whole["resident_id"], yibao_demo::DEMO_INSURED_ID);
        let fin = app.token("finance").await;
        let masked: Value =
            app.http.get(app.url("/api/v1/persons/1")).bearer_auth(&fin).send().await.unwrap().json().await.unwrap();
        assert_eq!(masked["resident_id"], "6203**********0036");
        assert_eq!(masked["name"], "张*");
        app.db.cleanup().await;
    }
}

#[tokio::test]
async fn cookie_sessions_need_csrf_and_edits_are_audited() {
    for db in TestDb::all().await {
        let app = spawn_app(db).await;
        let http =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let csrf = common::login_form_token(&http, &app).await;
        let res = http
            .post(app.url("/login"))
            .form(&[("username", "clerk"), ("password", "demo2026"), ("next", "/persons"), ("csrf", &csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");

        // A form post without the CSRF token is refused; nothing changes.
        let person: Value = http.get(app.url("/api/v1/persons/1")).send().await.unwrap().json().await.unwrap();
        let mut form: Vec<(String, String)> = [
            "resident_id",
            "name",
            "enrolment",
            "category",
            "insured_region",
            "hukou_region",
            "employer_id",
            "bank_name",
            "bank_card",
            "phone",
            "status",
            "status_from",
        ]
        .iter()
        .map(|k| {
            (
                k.to_string(),
                person[*k].as_str().map(String::from).unwrap_or_else(|| person[*k].to_string().replace("null", "")),
            )
        })
        .collect();
        form.push(("version".into(), "1".into()));
        form.retain(|(k, _)| k != "phone");
        form.push(("phone".into(), "13911112222".into()));
        let res = http.post(app.url("/persons/1")).form(&form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        // The JSON API with the cookie but no X-CSRF-Token is refused too.
        let res = http.post(app.url("/api/v1/persons")).json(&new_person_body()).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);

        // With the token from the edit page, the edit goes through and is audited.
        let page = http.get(app.url("/persons/1/edit")).send().await.unwrap().text().await.unwrap();
        let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        form.push(("csrf".into(), csrf));
        let res = http.post(app.url("/persons/1")).form(&form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.text().await.unwrap());
        let after = app.db.store.person(1).await.unwrap();
        assert_eq!(after.phone.unwrap().as_str(), "13911112222");
        assert_eq!(after.version, 2);
        let entries = app.db.store.recent_audit_entries(Some(("person", "1")), 5).await.unwrap();
        assert_eq!(entries[0].action, "person.update");
        assert!(entries[0].actor.contains("clerk"));
        assert!(entries[0].before.contains("13893512345") && entries[0].after.contains("13911112222"));
        assert!(!entries[0].request_id.is_empty());
        assert_eq!(app.db.store.verify_audit_log().await.unwrap().first_break, None);
        app.db.cleanup().await;
    }
}

#[tokio::test]
async fn institution_forms_show_errors_save_and_refuse_stale_edits() {
    for db in TestDb::all().await {
        let app = spawn_app(db).await;
        let (http, csrf) = portal_session(&app, "policy", "/institutions/new").await;
        let mut form = vec![
            ("csrf", csrf.clone()),
            ("version", "0".into()),
            ("code", "h62032100077".into()),
            ("name", "永昌县第二人民医院".into()),
            ("region", "62032".into()),
            ("tier", "county".into()),
            ("grade", "1".into()),
            ("designated_from", "2026-13-01".into()),
            ("may_issue_referrals", "on".into()),
        ];
        // Two bad fields: both reported, in Chinese, with the form kept as typed.
        let res = http.post(app.url("/institutions")).form(&form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = res.text().await.unwrap();
        assert!(html.contains("所在地区：") && html.contains("定点起始日期："), "{html}");
        assert!(html.contains("永昌县第二人民医院"), "what was typed is kept");
        form[4].1 = "620321".into();
        form[7].1 = "2026-01-01".into();
        let res = http.post(app.url("/institutions")).form(&form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.text().await.unwrap());
        let list = app.db.store.list_institutions(Some("永昌县第二"), None).await.unwrap();
        assert_eq!(list.len(), 1);
        let saved = &list[0];
        assert_eq!(saved.code, "H62032100077", "codes are kept upper-case");
        assert!(saved.may_issue_referrals && !saved.direct_settlement);

        // An edit from a form loaded before someone else's save is refused, not merged.
        let edit_path = format!("/institutions/{}", saved.id);
        let mut edit = form.clone();
        edit[1].1 = "1".into();
        edit[3].1 = "永昌县第二人民医院东院".into();
        let res = http.post(app.url(&edit_path)).form(&edit).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let res = http.post(app.url(&edit_path)).form(&edit).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert_eq!(app.db.store.institution(saved.id).await.unwrap().version, 2);

        // A clerk may not post the form at all.
        let (clerk, csrf) = portal_session(&app, "clerk", "/employers/new").await;
        form[0].1 = csrf;
        let res = clerk.post(app.url("/institutions")).form(&form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        app.db.cleanup().await;
    }
}

/// The staff's registry and account forms say every error at once, each beside its field,
/// and keep what was typed.
#[tokio::test]
async fn staff_forms_say_each_error_beside_its_field() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let beside = |page: &str, field: &str| {
        let at = page.find(&format!("id=\"err-{field}\"")).unwrap_or_else(|| panic!("nothing beside {field}: {page}"));
        page[at..].split("</span>").next().unwrap().to_string()
    };
    let (clerk, csrf) = portal_session(&app, "clerk", "/persons/new").await;
    let res = clerk
        .post(app.url("/persons"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("resident_id", "620302199001010011"),
            ("name", ""),
            ("enrolment", "resident"),
            ("category", "resident_adult"),
            ("insured_region", "62030"),
            ("hukou_region", "620302"),
            ("phone", "12345"),
            ("status", "active"),
            ("status_from", "2026-01-01"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"form-errors\""), "{page}");
    for field in ["resident_id", "name", "insured_region", "phone"] {
        let said = beside(&page, field);
        assert!(said.split('>').nth(1).is_some_and(|m| !m.trim().is_empty()), "{field}: {said}");
    }
    assert!(!page.contains("id=\"err-hukou_region\""), "nothing beside a good field");
    assert!(page.contains("value=\"620302199001010011\""), "what was typed is kept");

    let (admin, csrf) = portal_session(&app, "admin", "/accounts/new").await;
    let res = admin
        .post(app.url("/accounts"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "clerk9"),
            ("display_name", "新经办员"),
            ("role", "clerk"),
            ("scope", "620302"),
            ("password", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(beside(&page, "password").contains("8"), "{page}");
    assert!(page.contains("value=\"新经办员\""), "{page}");
    app.db.cleanup().await;
}

/// The charting library is served from yibao itself, whole, cacheable, with its licence
/// beside it in the repository; it names no other site to load from.
#[tokio::test]
async fn the_charting_library_is_served_from_the_binary() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let res = app.http.get(app.url("/static/echarts.min.js")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(res.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let body = res.text().await.unwrap();
    assert!(body.len() > 500_000 && body.contains("Licensed to the Apache Software Foundation"));
    assert!(!body.contains("cdn.") && !body.contains("unpkg") && !body.contains("jsdelivr"), "nothing fetched");
    let readme = include_str!("../static/vendor/echarts/README.md");
    let digest = sha2_hex(include_bytes!("../static/vendor/echarts/echarts.common.min.js"));
    assert!(readme.contains(&digest), "the README names the file's checksum {digest}");
    app.db.cleanup().await;
}

fn sha2_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[tokio::test]
async fn health_readiness_openapi_and_log_in_throttling() {
    let app = spawn_app(TestDb::sqlite().await).await;
    assert_eq!(app.http.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(app.http.get(app.url("/readyz")).send().await.unwrap().text().await.unwrap(), "ready");
    let doc: Value = app.http.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["paths"]["/api/v1/persons"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/persons/{id}"]["put"].is_object());
    let platform = doc["paths"]["/fsi/api/rsfComIfsService/callService"]["post"]["description"].as_str().unwrap();
    for (code, _, _) in yibao_core::platform::SUPPORTED {
        let row = platform.lines().find(|l| l.starts_with(&format!("| {code} |"))).unwrap_or_else(|| panic!("{code}"));
        assert!(row.matches('`').count() >= 2 || row.contains("as "), "{code}'s input and output are described: {row}");
    }
    let ui = app.http.get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(ui.status(), 200, "the vendored OpenAPI viewer is served");
    let login = |password: &'static str| {
        app.http.post(app.url("/api/v1/login")).json(&json!({"username": "reviewer", "password": password})).send()
    };
    // Thirty wrong passwords at once: only the first few are checked (counted before the
    // check), the rest are refused unchecked, and every answer is the same.
    let started = std::time::Instant::now();
    let answers = futures_util::future::join_all((0..30).map(|_| login("nope1234"))).await;
    let took = started.elapsed();
    let mut bodies = std::collections::BTreeSet::new();
    for r in answers {
        let r = r.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let p: Value = r.json().await.unwrap();
        bodies.insert((p["code"].to_string(), p["zh"].to_string(), p["en"].to_string()));
    }
    assert_eq!(bodies.len(), 1, "throttled and wrong answers are alike: {bodies:?}");
    let failed = || app.db.number("SELECT failed_logins FROM accounts WHERE username = 'reviewer'");
    // The threshold, and one more for each delay (1 s, 2 s, 4 s, …) that ran out while the
    // thirty were still arriving (on a loaded machine they take a while).
    let (mut allowed, mut delays) = (i64::from(yibao_web::throttle::PAIR_THRESHOLD), std::time::Duration::ZERO);
    while delays + std::time::Duration::from_secs(1 << (allowed - 3)) <= took {
        delays += std::time::Duration::from_secs(1 << (allowed - 3));
        allowed += 1;
    }
    let checked = failed().await;
    assert!(checked <= allowed, "{checked} of 30 were checked in {took:?}");
    // Once a wrong attempt has just been checked, a delay runs: the right password is
    // refused like a wrong one, and gets in once the delay has passed (no lock for an
    // attacker to set off).
    let before = failed().await;
    while failed().await == before {
        assert_eq!(login("nope1234").await.unwrap().status(), StatusCode::UNAUTHORIZED);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let r = login("demo2026").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the right password during the delay");
    let n = failed().await - i64::from(yibao_web::throttle::PAIR_THRESHOLD);
    tokio::time::sleep(std::time::Duration::from_secs(1 << n) + std::time::Duration::from_millis(200)).await;
    assert_eq!(login("demo2026").await.unwrap().status(), StatusCode::OK, "after the delay");
    app.db.cleanup().await;
}

#[tokio::test]
async fn policy_and_catalog_imports_report_every_problem_in_both_languages() {
    for db in TestDb::all().await {
        let label = db.label;
        let app = spawn_app(db).await;
        let token = app.token("policy").await;
        let post = |path: &str, body: String| app.http.post(app.url(path)).bearer_auth(&token).body(body).send();

        // A policy with two problems: both reported with their paths, in both languages.
        let broken = yibao_demo::DEMO_POLICIES[0]
            .replacen("version = 1", "version = 4", 1)
            .replacen("annual_cap = \"", "annual_cap = \"-", 1)
            .replacen("effective_to = \"2026-12-31\"", "effective_to = \"2025-12-31\"", 1);
        let res = post("/api/v1/policies", broken).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{label}");
        let problem: Value = res.json().await.unwrap();
        let zh: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["zh"].as_str().unwrap()).collect();
        let en: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["en"].as_str().unwrap()).collect();
        assert!(zh.iter().any(|m| m.starts_with("annual_cap：")), "{zh:?}");
        assert!(zh.iter().any(|m| m.starts_with("effective_to：")), "{zh:?}");
        assert!(en.iter().any(|m| m.starts_with("annual_cap: ")), "{en:?}");
        // The version the demo already has is a conflict.
        let res = post("/api/v1/policies", yibao_demo::DEMO_POLICIES[0].to_string()).await.unwrap();
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert_eq!(app.db.store.policies(None).await.unwrap().len(), 3, "nothing invalid or repeated was stored");

        // A catalog with one good and one bad row: stored, and the bad row explained.
        let csv = format!(
            "{CATALOG_HEAD}620300,XJ01CAA099C001000100002,阿莫西林胶囊,,02,0.10,,2026-01-01,,,,\n\
             620300,XJ01CAA099C001000100003,阿莫西林颗粒,,02,1.5,,2026-01-01,,,,\n"
        );
        let res = post("/api/v1/catalogs?file_name=upd.csv", csv).await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "{label}");
        let report: Value = res.json().await.unwrap();
        assert_eq!((report["rows_accepted"].as_i64(), report["rows_rejected"].as_i64()), (Some(1), Some(1)));
        assert_eq!(report["rejected"][0]["line"], 3);
        assert_eq!(report["rejected"][0]["field"], "selfpay_prop");
        let id = report["id"].as_i64().unwrap();
        // Nothing acceptable: 422, with the refused rows, and nothing stored.
        let res = post("/api/v1/catalogs", format!("{CATALOG_HEAD}620300,X1,x,,09,,,2026-01-01,,,,\n")).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "nothing_imported");
        assert!(problem["errors"][0]["zh"].as_str().unwrap().starts_with("第2行 chrgitm_lv："), "{problem}");
        // So is a diagnosis list with no good row, each bad row by its line.
        let res = post("/api/v1/diagnoses", "诊断编码,诊断名称\n坏,坏行\nI10,\n".to_string()).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "nothing_imported");
        assert!(problem["errors"][0]["zh"].as_str().unwrap().starts_with("第2行："), "{problem}");
        assert!(problem["errors"][1]["en"].as_str().unwrap().starts_with("line 3: "), "{problem}");

        // The portal: the report page of the import, and an upload through the form.
        let (http, csrf) = portal_session(&app, "policy", "/catalogs").await;
        let html = http.get(app.url(&format!("/catalogs/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("未导入的行及原因") && html.contains("selfpay_prop"), "{html}");
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .part("file", reqwest::multipart::Part::bytes(one_row_catalog().into_bytes()).file_name("新目录.csv"));
        let res = http.post(app.url("/catalogs")).multipart(form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{label}");
        let report_path = res.headers()["location"].to_str().unwrap().to_string();
        let html = http.get(app.url(&report_path)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("新目录.csv") && html.contains("已导入: 1"), "{html}");
        // A search finds the new entry by name.
        let html = http
            .get(app.url("/catalogs?region=620300&q=%E9%98%BF%E8%8E%AB%E8%A5%BF%E6%9E%97%E5%85%8B"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("XJ01CAA099C001000100001") && html.contains("乙类"), "{html}");
        // A policy reads as a benefit table, compared with the version before it (the demo's
        // 2025 employees' policy): what changed is marked, the illness added too.
        let token = app.token("policy").await;
        let list: Value =
            app.http.get(app.url("/api/v1/policies")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let id = list.as_array().unwrap().iter().find(|p| p["scheme"] == "310" && p["year"] == 2026).unwrap()["id"]
            .as_i64()
            .unwrap();
        let html = http.get(app.url(&format!("/policies/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("金昌市职工基本医疗保险2025年度待遇标准"), "{label}: compared with 2025: {html}");
        let changed: Vec<&str> = html.split("data-change=\"").skip(1).map(|r| r.split('"').next().unwrap()).collect();
        assert_eq!(changed.iter().filter(|c| **c == "changed").count(), 3, "{label}: cap, level-3 deductible, dates");
        assert_eq!(changed.iter().filter(|c| **c == "added").count(), 1, "{label}: 糖尿病");
        let row = html.split("<tr class=\"benefit changed\"").find(|r| r.contains("起付线 · 三级")).unwrap();
        assert!(row.contains("900.00 元") && row.contains("1,000.00 元"), "{label}: {row}");
        // The diagnosis list through its form: what was taken, and the lines that were not.
        let list = "诊断编码,诊断名称\nZ00.0,一般医学检查\n坏,坏行\n";
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .part("file", reqwest::multipart::Part::bytes(list.as_bytes().to_vec()).file_name("诊断.csv"));
        let res = http.post(app.url("/catalogs/diagnoses")).multipart(form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{label}");
        let back = res.headers()["location"].to_str().unwrap().to_string();
        let html = http.get(app.url(&back)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("已导入 1 条诊断；第 3 行未导入"), "{label}: {html}");
        // A pasted policy with a problem comes back with the problem and the text kept.
        let pasted = yibao_demo::DEMO_POLICIES[1].replacen("version = 1", "version = 5", 1).replacen(
            "annual_cap = \"",
            "annual_cap = \"-",
            1,
        );
        let form = reqwest::multipart::Form::new().text("csrf", csrf.clone()).text("document", pasted);
        let res = http.post(app.url("/policies")).multipart(form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = res.text().await.unwrap();
        assert!(html.contains("政策未导入") && html.contains("annual_cap："), "{html}");
        assert!(html.contains("version = 5"), "the pasted text is kept");
        // A form without the session's CSRF token is refused.
        let form = reqwest::multipart::Form::new().text("csrf", "forged").text("document", policy_v3());
        let res = http.post(app.url("/policies")).multipart(form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        app.db.cleanup().await;
    }
}

#[tokio::test]
async fn a_new_policy_version_changes_how_a_claim_is_adjudicated() {
    for db in TestDb::all().await {
        let label = db.label;
        let app = spawn_app(db).await;
        let reviewer = app.token("reviewer").await;
        let preview = |claim: Value| {
            app.http
                .post(app.url("/api/v1/adjudicate/preview"))
                .bearer_auth(&reviewer)
                .header("accept-language", "en")
                .json(&json!({ "claim": claim }))
                .send()
        };
        let before: Value = preview(inpatient_claim()).await.unwrap().json().await.unwrap();
        let t = &before["outcome"]["totals"];
        assert_eq!(t["act_pay_dedc"], "900.00", "{label}: the seeded policy's level-3 deductible");
        assert_eq!(before["outcome"]["policy"]["version"], 1);
        assert!(before["explanation"][0].as_str().unwrap().starts_with("Line 1 床位费（三人间）: "), "{before}");

        // The policy administrator imports version 2 with a lower level-3 deductible.
        let v2 = yibao_demo::DEMO_POLICIES[0].replacen("version = 1", "version = 2", 1).replacen(
            "level3 = \"900.00\"",
            "level3 = \"700.00\"",
            1,
        );
        let res = app
            .http
            .post(app.url("/api/v1/policies"))
            .bearer_auth(app.token("policy").await)
            .body(v2)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let after: Value = preview(inpatient_claim()).await.unwrap().json().await.unwrap();
        assert_eq!(after["outcome"]["totals"]["act_pay_dedc"], "700.00", "{label}");
        assert_eq!(after["outcome"]["policy"]["version"], 2);
        // Amounts are yuan with two decimals: compare them as fen.
        let fund =
            |v: &Value| v["outcome"]["totals"]["hifp_pay"].as_str().unwrap().replace('.', "").parse::<i64>().unwrap();
        assert!(fund(&after) > fund(&before), "a lower deductible leaves more for the fund");

        // A claim for a region outside the caller's is refused; a broken claim names its field.
        let mut foreign = inpatient_claim();
        foreign["insuplc_admdvs"] = json!("110105");
        let res = preview(foreign).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let mut broken = inpatient_claim();
        broken["feedetail"][0]["det_item_fee_sumamt"] = json!("241.00");
        let res = preview(broken).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem: Value = res.json().await.unwrap();
        assert!(
            problem["errors"][0]["en"].as_str().unwrap().starts_with("feedetail[0].det_item_fee_sumamt: "),
            "{problem}"
        );
        app.db.cleanup().await;
    }
}

/// A unit declares a month in the portal: the wages of last month prefilled, the bill made;
/// a bad wage is named and nothing changes; 张三 reads his months paid at 「我的缴费」.
#[tokio::test]
async fn a_unit_declares_a_month_in_the_portal_and_the_person_reads_the_months_paid() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let (http, csrf) = portal_session(&app, "unit", "/unit/contributions").await;
    let page = http.get(app.url("/unit/contributions")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"arrears\"") && page.contains("2026-10"), "October is unpaid");
    assert!(page.contains("name=\"wage_1\""), "张三 among the employees");
    let wage = page.split("name=\"wage_1\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert_eq!(wage, yibao_demo::demo_wage(1).to_plain(), "prefilled from the last bill");
    let bad = [("csrf", csrf.as_str()), ("month", "2026-11"), ("wage_1", "八千")];
    let res = http.post(app.url("/unit/contributions")).form(&bad).send().await.unwrap();
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"form-errors\"") && body.contains("张三"), "the bad wage is named");
    let good = [("csrf", csrf.as_str()), ("month", "2026-11"), ("wage_1", "8000.00")];
    let res = http.post(app.url("/unit/contributions")).form(&good).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = http.get(app.url("/unit/contributions?done=declared")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("data-month=\"2026-11\" data-state=\"declared\"") && page.contains("680.00"), "the bill");

    // Someone who may not declare for the unit learns nothing of its employees.
    let (http, csrf) = portal_session(&app, "zhangsan", "/my/contributions").await;
    let snoop = [("csrf", csrf.as_str()), ("month", "2026-11"), ("wage_2", "x")];
    let res = http.post(app.url("/employers/1/contributions")).form(&snoop).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let person2 = app.db.store.person(2).await.unwrap().name.to_string();
    assert!(!res.text().await.unwrap().contains(&person2), "no name in the answer");
    let page = http.get(app.url("/my/contributions")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("2026-09") && page.contains("单位缴费单"), "the months paid");
    assert!(page.contains("正常享受医保待遇"), "within the grace: covered");
    app.db.cleanup().await;
}
