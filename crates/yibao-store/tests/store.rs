//! The storage suite, run against SQLite and (where reachable) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{NaiveDate, Utc};
use yibao_core::registry::{Enrolment, HospitalGrade, InstitutionTier, PersonCategory, PersonStatus};
use yibao_core::{AdminCode, CreditCode, ResidentId, Role, Scope};
use yibao_store::testing::TestDb;
use yibao_store::{
    Actor, EmployerInput, InstitutionInput, LoginOutcome, NewAccount, PersonInput, PersonQuery, Store, StoreError,
};

fn code(s: &str) -> AdminCode {
    s.parse().unwrap()
}

fn person_input(region: &str, birth_day: u32, seq: u16, name: &str) -> PersonInput {
    let birth = NaiveDate::from_ymd_opt(1980, 1, birth_day).unwrap();
    PersonInput {
        resident_id: ResidentId::from_parts(code(region), birth, seq).unwrap(),
        name: name.parse().unwrap(),
        enrolment: Enrolment::Resident,
        category: PersonCategory::ResidentAdult,
        insured_region: code(region),
        hukou_region: code(region),
        employer_id: None,
        bank_name: None,
        bank_card: None,
        phone: Some("13812345678".parse().unwrap()),
        status: PersonStatus::Active,
        status_from: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
    }
}

async fn add_person(store: &Store, input: &PersonInput) -> yibao_store::Person {
    let mut w = store.begin_write(&Actor::system("test")).await.unwrap();
    let p = store.create_person(&mut w, input).await.unwrap();
    w.commit().await.unwrap();
    p
}

#[tokio::test]
async fn persons_have_history_and_optimistic_concurrency() {
    for db in TestDb::all().await {
        let s = &db.store;
        let p = add_person(s, &person_input("620302", 5, 11, "张三丰")).await;
        assert_eq!(p.pooling_region, code("620300"), "{}", db.label);
        assert_eq!(p.birth_date, NaiveDate::from_ymd_opt(1980, 1, 5).unwrap());

        let mut changed = person_input("620302", 5, 11, "张三丰");
        changed.phone = Some("13900000000".parse().unwrap());
        let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
        let p2 = s.update_person(&mut w, p.id, 1, &changed).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(p2.version, 2);

        // A stale edit (still at version 1) is refused, and nothing changes.
        let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
        let stale = s.update_person(&mut w, p.id, 1, &person_input("620302", 5, 11, "张三")).await;
        assert!(matches!(stale, Err(StoreError::Stale("person"))), "{}: {stale:?}", db.label);
        drop(w);
        assert_eq!(s.person(p.id).await.unwrap().name.as_str(), "张三丰");

        let versions = s.record_versions("person", p.id).await.unwrap();
        assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), vec![2, 1], "{}", db.label);
        assert_eq!(versions[1].data["phone"], "13812345678");
        assert_eq!(versions[0].data["phone"], "13900000000");

        // The same resident ID cannot be registered twice.
        let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
        let dup = s.create_person(&mut w, &person_input("620302", 5, 11, "别人")).await;
        assert!(matches!(dup, Err(StoreError::Duplicate { what: "resident_id" })), "{}: {dup:?}", db.label);
        drop(w);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn search_by_name_id_region_and_scope_with_paging() {
    for db in TestDb::all().await {
        let s = &db.store;
        for i in 0..7u16 {
            add_person(s, &person_input("620302", 1 + u32::from(i), 2 * i + 1, &format!("张{i}"))).await;
        }
        add_person(s, &person_input("620102", 20, 3, "张兰州")).await;
        add_person(s, &person_input("620302", 21, 5, "李四")).await;

        let jinchang = Scope::new(vec![code("620300")]);
        let q = |text: Option<&str>, after: Option<String>| PersonQuery {
            text: text.map(String::from),
            scope: Some(jinchang.clone()),
            after,
            limit: 3,
            ..Default::default()
        };
        // Name prefix, in scope only (张兰州 is in Lanzhou), three pages of 3 + 3 + 1.
        let mut names = Vec::new();
        let mut after = None;
        loop {
            let page = s.search_persons(&q(Some("张"), after)).await.unwrap();
            names.extend(page.items.iter().map(|p| p.name.to_string()));
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        assert_eq!(names, ["张0", "张1", "张2", "张3", "张4", "张5", "张6"], "{}", db.label);

        // By resident ID prefix.
        let page = s.search_persons(&q(Some("620302198001"), None)).await.unwrap();
        assert_eq!(page.items.len(), 3);
        assert!(page.next.is_some());

        // An account scoped elsewhere sees nothing of Jinchang.
        let beijing = PersonQuery { scope: Some(Scope::new(vec![code("110000")])), limit: 50, ..Default::default() };
        assert!(s.search_persons(&beijing).await.unwrap().items.is_empty(), "{}", db.label);
        let none = PersonQuery { scope: Some(Scope::default()), limit: 50, ..Default::default() };
        assert!(s.search_persons(&none).await.unwrap().items.is_empty());
        // Region filter.
        let lz = PersonQuery { region: Some(code("620100")), limit: 50, ..Default::default() };
        assert_eq!(s.search_persons(&lz).await.unwrap().items.len(), 1);
        assert_eq!(s.count_persons(Some(&jinchang)).await.unwrap(), 8, "{}", db.label);
        assert_eq!(s.count_persons(None).await.unwrap(), 9);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn employers_and_institutions_validate_and_keep_versions() {
    for db in TestDb::all().await {
        let s = &db.store;
        let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
        let emp = s
            .create_employer(
                &mut w,
                &EmployerInput {
                    credit_code: CreditCode::complete("91620300MA7ABCDE1").unwrap(),
                    name: "金川集团".into(),
                    region: code("620302"),
                    contact_name: Some("王五".into()),
                    contact_phone: None,
                },
            )
            .await
            .unwrap();
        let mut inst = InstitutionInput {
            code: "H62030200001".into(),
            name: "金昌市中心医院".into(),
            region: code("620302"),
            tier: InstitutionTier::City,
            grade: HospitalGrade::Level3,
            designated_from: NaiveDate::from_ymd_opt(2015, 1, 1),
            designated_to: None,
            may_issue_referrals: true,
            direct_settlement: true,
        };
        let i = s.create_institution(&mut w, &inst).await.unwrap();
        w.commit().await.unwrap();
        assert!(i.designated_on(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()));
        assert!(!i.designated_on(NaiveDate::from_ymd_opt(2014, 12, 31).unwrap()));

        // A township health centre cannot be allowed to issue referrals.
        inst.tier = InstitutionTier::Township;
        let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
        let err = s.update_institution(&mut w, i.id, 1, &inst).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(v) if v.code == "tier_too_low"), "{err:?}");
        drop(w);
        assert_eq!(s.list_employers(Some("金川"), None, 10).await.unwrap(), vec![emp]);
        assert_eq!(s.list_institutions(Some("金昌"), Some(code("620300"))).await.unwrap().len(), 1);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn login_lockout_sessions_and_api_keys() {
    for db in TestDb::all().await {
        let s = &db.store;
        let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
        let acct = s
            .create_account(
                &mut w,
                &NewAccount {
                    username: "clerk".into(),
                    display_name: "窗口".into(),
                    role: Role::IntakeClerk,
                    password: "Passw0rd!".into(),
                    scope: Scope::new(vec![code("620300")]),
                    person_id: None,
                },
            )
            .await
            .unwrap();
        w.commit().await.unwrap();
        let now = Utc::now();
        let LoginOutcome::Ok { token, session } = s.login("clerk", "Passw0rd!", now).await.unwrap() else {
            panic!("login failed")
        };
        assert_eq!(session.account, acct);
        assert!(s.session(&token, now).await.unwrap().is_some());
        assert!(s.session(&token, now + chrono::Duration::hours(9)).await.unwrap().is_none(), "expired");
        s.logout(&token).await.unwrap();
        assert!(s.session(&token, now).await.unwrap().is_none());

        for _ in 0..4 {
            assert!(matches!(s.login("clerk", "wrong", now).await.unwrap(), LoginOutcome::BadCredentials));
        }
        assert!(matches!(s.login("clerk", "wrong", now).await.unwrap(), LoginOutcome::Locked { .. }));
        // Even the right password is refused while locked, and accepted after.
        assert!(matches!(s.login("clerk", "Passw0rd!", now).await.unwrap(), LoginOutcome::Locked { .. }));
        let later = now + chrono::Duration::minutes(16);
        assert!(matches!(s.login("clerk", "Passw0rd!", later).await.unwrap(), LoginOutcome::Ok { .. }));
        assert!(matches!(s.login("nobody", "Passw0rd!", now).await.unwrap(), LoginOutcome::BadCredentials));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn audit_log_chains_every_change_and_verify_finds_tampering() {
    for db in TestDb::all().await {
        let s = &db.store;
        for i in 0..4u16 {
            add_person(s, &person_input("620302", 1 + u32::from(i), i, &format!("王{i}"))).await;
        }
        let ok = s.verify_audit_log().await.unwrap();
        assert_eq!(ok.entries, 4, "{}", db.label);
        assert_eq!(ok.first_break, None);

        // Someone edits the third entry directly in the database.
        s.execute_raw("UPDATE audit_log SET after_data = REPLACE(after_data, '王2', '王X') WHERE seq = 3")
            .await
            .unwrap();
        let bad = s.verify_audit_log().await.unwrap();
        assert_eq!(bad.first_break, Some(yibao_core::audit::ChainBreak::Tampered { seq: 3 }), "{}", db.label);

        // Someone deletes the last entry.
        s.execute_raw("UPDATE audit_log SET after_data = REPLACE(after_data, '王X', '王2') WHERE seq = 3")
            .await
            .unwrap();
        s.execute_raw("DELETE FROM audit_log WHERE seq = 4").await.unwrap();
        let cut = s.verify_audit_log().await.unwrap();
        assert_eq!(
            cut.first_break,
            Some(yibao_core::audit::ChainBreak::Truncated { expected_last: 4, found_last: 3 }),
            "{}",
            db.label
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn concurrent_audited_writes_keep_one_unbroken_chain() {
    for db in TestDb::all().await {
        let mut tasks = Vec::new();
        for i in 0..16u16 {
            let s = db.store.clone();
            tasks.push(tokio::spawn(async move {
                add_person(&s, &person_input("620302", 1 + u32::from(i % 28), 100 + i, &format!("并发{i}"))).await;
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let v = db.store.verify_audit_log().await.unwrap();
        assert_eq!((v.entries, v.first_break), (16, None), "{}", db.label);
        db.cleanup().await;
    }
}

const POLICY_310: &str = include_str!("../../../docs/formats/examples/policy-620300-310-2026.toml");

async fn import_policy(s: &Store, document: &str, scope: &str) -> Result<yibao_store::PolicySummary, StoreError> {
    let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
    let r = s.import_policy(&mut w, document, Some(&Scope::parse_list(scope).unwrap())).await;
    if r.is_ok() {
        w.commit().await.unwrap();
    }
    r
}

async fn import_catalog(s: &Store, csv: &str, scope: &str) -> yibao_store::CatalogImport {
    let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
    let r = s.import_catalog(&mut w, "test.csv", csv.as_bytes(), Some(&Scope::parse_list(scope).unwrap())).await;
    w.commit().await.unwrap();
    r.unwrap()
}

#[tokio::test]
async fn policies_are_versioned_validated_scoped_and_audited() {
    for db in TestDb::all().await {
        let s = &db.store;
        let v1 = import_policy(s, POLICY_310, "620000").await.unwrap();
        assert_eq!((v1.region, v1.year, v1.version, v1.format.as_str()), (code("620300"), 2026, 1, "toml"));

        // The same version again is a duplicate; another province's administrator may not
        // import it; an invalid document says where it is wrong.
        let dup = import_policy(s, POLICY_310, "620000").await;
        assert!(matches!(dup, Err(StoreError::Duplicate { what: "policy_version" })), "{}: {dup:?}", db.label);
        let foreign = import_policy(s, POLICY_310, "110000").await;
        assert!(matches!(&foreign, Err(StoreError::Invalid(e)) if e.code == "out_of_scope"), "{foreign:?}");
        let broken = POLICY_310.replacen("annual_cap = \"", "annual_cap = \"-", 1);
        let invalid = import_policy(s, &broken, "620000").await;
        assert!(matches!(&invalid, Err(StoreError::Invalid(e)) if e.message.en.contains("annual_cap")), "{invalid:?}");

        // Version 2 supersedes version 1 for the engine; both stay listed.
        let v2_doc = POLICY_310.replacen("version = 1", "version = 2", 1);
        assert_ne!(v2_doc, POLICY_310, "the example policy has a version line");
        let v2 = import_policy(s, &v2_doc, "620000").await.unwrap();
        let listed = s.policies(Some(&Scope::parse_list("620300").unwrap())).await.unwrap();
        assert_eq!(listed.iter().map(|p| p.version).collect::<Vec<_>>(), [2, 1], "{}", db.label);
        assert!(s.policies(Some(&Scope::parse_list("110000").unwrap())).await.unwrap().is_empty());
        let stored = s.policy(v2.id, None).await.unwrap();
        assert_eq!(stored.document, v2_doc);
        assert!(matches!(
            s.policy(v2.id, Some(&Scope::parse_list("110000").unwrap())).await,
            Err(StoreError::NotFound(_))
        ));
        let set = s.load_policies().await.unwrap();
        let chosen = set
            .select(
                code("620302"),
                yibao_core::registry::Scheme::Employee,
                NaiveDate::from_ymd_opt(2026, 5, 1).unwrap(),
            )
            .unwrap();
        assert_eq!(chosen.version, 2, "{}", db.label);

        let audit = s.audit_entries_after(0, 100).await.unwrap();
        let imports: Vec<_> = audit.iter().filter(|e| e.action == "import" && e.entity == "policy").collect();
        assert_eq!(imports.len(), 2, "{}: one audit entry per stored version", db.label);
        assert_eq!(s.verify_audit_log().await.unwrap().first_break, None);
        db.cleanup().await;
    }
}

const CATALOG_HEAD: &str =
    "admdvs,med_list_codg,name,list_type,chrgitm_lv,selfpay_prop,pric_uplmt_amt,begndate,enddate,lmt_dise,lmt_hosp_lv,lmt_cnt\n";

#[tokio::test]
async fn catalog_imports_keep_history_report_rejections_and_respect_scope() {
    for db in TestDb::all().await {
        let s = &db.store;
        let first = format!(
            "{CATALOG_HEAD}\
             620300,XJ01CAA001C001000100001,阿莫西林胶囊 0.25g×24粒,,02,0.10,,2020-01-01,,,,\n\
             620300,001101000010000,普通门诊诊察费,service,01,,,2020-01-01,,,,\n\
             110000,XJ01CAA001C001000100002,阿莫西林胶囊（北京）,,01,,,2020-01-01,,,,\n\
             620300,X9,无效等级,,07,,,2020-01-01,,,,\n"
        );
        let report = import_catalog(s, &first, "620000").await;
        let id = report.id.expect("stored");
        assert_eq!((report.rows_accepted, report.rows_rejected), (2, 2), "{}", db.label);
        let why: Vec<_> = report.rejected.iter().map(|r| (r.line, r.field.as_str())).collect();
        assert_eq!(why, [(4, "admdvs"), (5, "chrgitm_lv")], "{}: in file order, each with its field", db.label);
        assert!(report.rejected.iter().all(|r| !r.reason_zh.is_empty() && !r.reason_en.is_empty()));
        assert_eq!(s.catalog_import(id, None).await.unwrap().rejected, report.rejected, "the report is kept");
        assert!(s.catalog_imports(Some(&Scope::parse_list("110000").unwrap())).await.unwrap().is_empty());
        assert!(matches!(
            s.catalog_import(id, Some(&Scope::parse_list("110000").unwrap())).await,
            Err(StoreError::NotFound(_))
        ));

        // A later import restating an item with the same begin date wins; both are kept.
        let second =
            format!("{CATALOG_HEAD}620300,XJ01CAA001C001000100001,阿莫西林胶囊 0.25g×24粒,,01,,,2020-01-01,,,,\n");
        assert_eq!(import_catalog(s, &second, "620000").await.rows_accepted, 1);
        let found = s.search_catalog(code("620300"), "阿莫", 50).await.unwrap();
        assert_eq!(found.len(), 2, "{}: both versions are kept", db.label);
        assert_eq!(s.search_catalog(code("620300"), "001101", 50).await.unwrap().len(), 1, "by code prefix");
        let catalogs = s.load_catalogs().await.unwrap();
        let (_, cat) = catalogs.for_region(code("620302")).unwrap();
        let entry = cat.lookup("XJ01CAA001C001000100001", NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()).unwrap();
        assert_eq!(entry.category, yibao_core::catalog::Category::A, "{}", db.label);

        // Nothing acceptable: nothing stored, but the report still says why.
        let none = import_catalog(s, &format!("{CATALOG_HEAD}620300,X9,x,,09,,,2020-01-01,,,,\n"), "620000").await;
        assert_eq!((none.id, none.rows_accepted, none.rows_rejected), (None, 0, 1));
        assert_eq!(s.catalog_imports(None).await.unwrap().len(), 2);

        // A file without a required column is refused whole.
        let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
        let bad = s.import_catalog(&mut w, "x.csv", b"code,name\nX1,x\n", None).await;
        assert!(matches!(&bad, Err(StoreError::Invalid(e)) if e.message.zh.contains("admdvs")), "{bad:?}");
        drop(w);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_demo_seed_stores_both_policies_and_a_catalog_of_thousands() {
    let db = TestDb::sqlite().await;
    let summary =
        yibao_store::demo::seed_demo(&db.store, NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()).await.unwrap();
    assert_eq!(summary.policies, 2);
    assert!(summary.catalog_entries >= 2_000, "{}", summary.catalog_entries);
    let set = db.store.load_policies().await.unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    for scheme in [yibao_core::registry::Scheme::Employee, yibao_core::registry::Scheme::Resident] {
        assert!(set.select(code("620302"), scheme, day).is_some(), "{scheme}");
    }
    let catalogs = db.store.load_catalogs().await.unwrap();
    assert_eq!(catalogs.len(), summary.catalog_entries);
    // The documented example claim adjudicates against the seeded data as against the files.
    let claim =
        yibao_core::adjudicate::Claim::from_json(include_str!("../../../docs/formats/examples/claim-inpatient.json"))
            .unwrap();
    let outcome = yibao_core::adjudicate::adjudicate(&claim, &set, &catalogs, &Default::default()).unwrap();
    assert!(outcome.totals.hifp_pay.fen() > 0);
    db.cleanup().await;
}

#[tokio::test]
async fn a_new_calendar_year_is_imported_checked_and_used() {
    for db in TestDb::all().await {
        let s = &db.store;
        let day = NaiveDate::from_ymd_opt(2027, 2, 8).unwrap();
        assert!(s.calendar().await.unwrap().is_working_day(day).is_err(), "2027 is not built in");

        // A wrong document is refused and nothing is stored.
        let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
        let wrong = "[[year]]\nyear = 2027\nsource = \"x\"\nholidays = []\nworkdays = [\"2027-02-08\"]\n";
        let refused = s.import_calendar(&mut w, wrong).await;
        assert!(matches!(&refused, Err(StoreError::Invalid(e)) if e.message.zh.contains("不是周末")), "{refused:?}");
        drop(w);

        // 2027 as published (a hypothetical schedule for the test): from then on it counts.
        let year_2027 = "[[year]]\nyear = 2027\nsource = \"国务院办公厅关于2027年部分节假日安排的通知\"\n\
                         holidays = [\"2027-02-06..2027-02-12\"]\nworkdays = [\"2027-02-13\"]\n";
        let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
        let import = s.import_calendar(&mut w, year_2027).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(import.years, [2027], "{}", db.label);
        let calendar = s.calendar().await.unwrap();
        assert!(!calendar.is_working_day(day).unwrap(), "{}: a holiday Monday", db.label);
        assert!(calendar.is_working_day(NaiveDate::from_ymd_opt(2027, 2, 13).unwrap()).unwrap(), "a worked Saturday");
        assert!(calendar.is_working_day(NaiveDate::from_ymd_opt(2026, 2, 14).unwrap()).unwrap(), "built-in years stay");
        let audit = s.audit_entries_after(0, 10).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "import" && e.entity == "calendar"), "{}", db.label);
        db.cleanup().await;
    }
}
