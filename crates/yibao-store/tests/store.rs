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
        let p2 = s.update_person(&mut w, p.id, 1, &changed, "clerk").await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(p2.version, 2);

        // A stale edit (still at version 1) is refused, and nothing changes.
        let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
        let stale = s.update_person(&mut w, p.id, 1, &person_input("620302", 5, 11, "张三"), "clerk").await;
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
                    bank_name: None,
                    bank_card: None,
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

/// A person has one account, also when two are created at the same moment: the database
/// refuses the second, naming the person.
#[tokio::test]
async fn a_person_has_one_account_whatever_the_timing() {
    for db in TestDb::all().await {
        let s = &db.store;
        let p = add_person(s, &person_input("620302", 3, 7, "李四")).await;
        let account = |username: &str| NewAccount {
            username: username.into(),
            display_name: "李四".into(),
            role: Role::Insured,
            password: "Passw0rd!".into(),
            scope: Scope::default(),
            person_id: Some(p.id),
            institution_code: None,
            employer_code: None,
            temporary_password: false,
        };
        let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
        s.create_account(&mut w, &account("lisi")).await.unwrap();
        w.commit().await.unwrap();
        let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
        let second = s.create_account(&mut w, &account("lisi2")).await;
        assert!(matches!(second, Err(StoreError::Duplicate { what: "person_id" })), "{}: {second:?}", db.label);
        drop(w);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn login_failures_sessions_and_api_keys() {
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
                    institution_code: None,
                    employer_code: None,
                    temporary_password: false,
                },
            )
            .await
            .unwrap();
        w.commit().await.unwrap();
        let now = Utc::now();
        let actor = Actor::system("test");
        let LoginOutcome::Ok { token, session } = s.login(&actor, "clerk", "Passw0rd!", now).await.unwrap() else {
            panic!("login failed")
        };
        assert_eq!(session.account, acct);
        assert!(s.session(&token, now).await.unwrap().is_some());
        assert!(s.session(&token, now + chrono::Duration::hours(9)).await.unwrap().is_none(), "expired");
        s.logout(&token).await.unwrap();
        assert!(s.session(&token, now).await.unwrap().is_none());

        // Failures are counted (one at a time, even at once) and audited, but never lock the
        // account: throttling is the web layer's, so nobody can keep another person out.
        let tries = (0..6).map(|_| s.login(&actor, "clerk", "wrong", now));
        for outcome in futures_util::future::join_all(tries).await {
            assert!(matches!(outcome.unwrap(), LoginOutcome::BadCredentials));
        }
        let failed = db.number("SELECT failed_logins FROM accounts WHERE username = 'clerk'").await;
        assert_eq!(failed, 6, "{}", db.label);
        assert!(matches!(s.login(&actor, "clerk", "Passw0rd!", now).await.unwrap(), LoginOutcome::Ok { .. }));
        let audited = |action: &str| format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'");
        assert_eq!(db.number(&audited("login.failed")).await, 6, "{}", db.label);
        assert_eq!(db.number(&audited("login.ok")).await, 2, "{}", db.label);
        assert!(matches!(s.login(&actor, "nobody", "Passw0rd!", now).await.unwrap(), LoginOutcome::BadCredentials));
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

/// Keyed with a key kept outside the database, the chain cannot be recomputed by whoever can
/// only write the database; and the records are checked against what the log last says of
/// them, so a change behind yibao's back, or a log cut short under a record that changed,
/// is named.
#[tokio::test]
async fn a_keyed_audit_log_proves_the_records() {
    use yibao_core::audit::{AuditKey, ChainBreak};
    for db in TestDb::all().await {
        let l = db.label;
        // The database as it was before keys: unkeyed entries, keyed at the next start.
        let first = add_person(&db.store, &person_input("620302", 1, 1, "王一")).await;
        let key = AuditKey::new(vec![42; 32]).unwrap();
        let s = &Store::connect(&yibao_store::StoreConfig { audit_key: Some(key.clone()), ..db.config.clone() })
            .await
            .unwrap();
        assert!(s.key_audit_log(None, false).await.is_err(), "{l}: an unkeyed log is keyed only in an upgrade");
        assert_eq!(s.key_audit_log(None, true).await.unwrap(), 1, "{l}: the old entry is keyed");
        assert_eq!(s.key_audit_log(None, false).await.unwrap(), 0, "{l}: once");
        for i in 2..5u16 {
            add_person(s, &person_input("620302", u32::from(i), i, &format!("王{i}"))).await;
        }
        let ok = s.verify_audit_log().await.unwrap();
        assert_eq!((ok.entries, ok.first_break), (4, None), "{l}");
        assert_eq!(s.audit_differences().await.unwrap(), vec![], "{l}");
        // An unkeyed reader cannot pass the keyed chain off as its own.
        assert!(matches!(db.store.verify_audit_log().await.unwrap().first_break, Some(ChainBreak::WrongKey { .. })));

        // A record changed behind yibao's back is named, field and both values.
        s.execute_raw(&format!("UPDATE persons SET phone = '13999999999' WHERE id = {}", first.id)).await.unwrap();
        let d = s.audit_differences().await.unwrap();
        assert_eq!(d.len(), 1, "{l}: {d:?}");
        assert_eq!((d[0].entity.as_str(), d[0].field.as_str()), ("person", "phone"), "{l}");
        assert!(d[0].in_database.contains("13999999999"), "{l}: {}", d[0]);
        s.execute_raw(&format!("UPDATE persons SET phone = NULL WHERE id = {}", first.id)).await.unwrap();
        let d = s.audit_differences().await.unwrap();
        assert!(d.iter().all(|d| d.field == "phone"), "{l}: {d:?}");

        // An entry edited and the chain recomputed without the key (plain SHA-256) fails.
        let mut entries = s.audit_entries_after(0, 100).await.unwrap();
        entries[1].after = entries[1].after.replace("王2", "王X");
        let mut prev = entries[0].hash.clone();
        for e in entries.iter_mut().skip(1) {
            e.prev_hash = prev;
            e.hash = e.computed_hash(None);
            prev = e.hash.clone();
            let sql = format!(
                "UPDATE audit_log SET after_data = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {}",
                e.after.replace('\'', "''"),
                e.prev_hash,
                e.hash,
                e.seq
            );
            s.execute_raw(&sql).await.unwrap();
        }
        s.execute_raw(&format!("UPDATE audit_head SET last_hash = '{prev}' WHERE id = 1")).await.unwrap();
        assert_eq!(s.verify_audit_log().await.unwrap().first_break, Some(ChainBreak::Tampered { seq: 2 }), "{l}");
        // Declaring the chain unkeyed does not help: verification fails, and the chain is not
        // keyed again at the next start (which would launder the rewrite).
        s.execute_raw("UPDATE audit_head SET key_id = '' WHERE id = 1").await.unwrap();
        assert!(matches!(s.verify_audit_log().await.unwrap().first_break, Some(ChainBreak::WrongKey { .. })), "{l}");
        assert!(s.key_audit_log(None, false).await.is_err(), "{l}: not laundered");
        s.close().await;
        db.cleanup().await;
    }
}

/// Card digests in the log are keyed with a salt the database keeps sealed under the audit
/// key: the log holds no plain SHA-256 of a card (found by trying the numbers the masked
/// digits leave), records still compare with the log, and a key rotation keeps the salt.
#[tokio::test]
async fn card_digests_in_the_log_are_keyed_and_survive_a_rotation() {
    use yibao_core::audit::AuditKey;
    for db in TestDb::all().await {
        let l = db.label;
        let (old, new) = (AuditKey::new(vec![7; 32]).unwrap(), AuditKey::new(vec![8; 32]).unwrap());
        let keyed = |key: &AuditKey| yibao_store::StoreConfig { audit_key: Some(key.clone()), ..db.config.clone() };
        let s = Store::connect(&keyed(&old)).await.unwrap();
        s.migrate().await.unwrap();
        s.key_audit_log(None, false).await.unwrap();
        let card: yibao_core::BankCardNumber = "6222020200112233446".parse().unwrap();
        let mut input = person_input("620302", 1, 1, "卡一");
        input.bank_name = Some("中国工商银行".into());
        input.bank_card = Some(card.clone());
        add_person(&s, &input).await;
        let entries = s.audit_entries_after(0, 10).await.unwrap();
        let after = &entries.last().unwrap().after;
        assert!(after.contains("****3446") && after.contains("\"digest\""), "{l}: {after}");
        assert!(!after.contains(&card.digest()) && !after.contains("sha256"), "{l}: a guessable digest: {after}");
        assert_eq!(s.audit_differences().await.unwrap(), vec![], "{l}");
        s.close().await;

        // Rotation, alone on the database: the salt is sealed again, the records still agree.
        let r = Store::connect(&keyed(&new)).await.unwrap();
        let alone = r.try_lock(yibao_store::LockMode::Exclusive).await.unwrap();
        assert!(alone.is_some(), "{l}: nobody else holds it");
        r.migrate().await.unwrap();
        assert!(r.key_audit_log(Some(&old), false).await.unwrap() > 0, "{l}");
        drop(alone);
        assert_eq!(r.audit_differences().await.unwrap(), vec![], "{l}: the same salt after rotation");
        r.execute_raw("UPDATE persons SET bank_card = '4111111111111111'").await.unwrap();
        let d = r.audit_differences().await.unwrap();
        assert_eq!(d.len(), 1, "{l}: {d:?}");
        assert_eq!(d[0].field, "bank_card", "{l}");
        r.close().await;
        // Started again with the new key, the salt opens without a rotation.
        let again = Store::connect(&keyed(&new)).await.unwrap();
        again.migrate().await.unwrap();
        assert_eq!(again.audit_differences().await.unwrap().len(), 1, "{l}");
        again.close().await;
        db.cleanup().await;
    }
}

/// Servers share the database; maintenance that must run alone takes it only when none does.
#[tokio::test]
async fn maintenance_takes_the_database_only_when_no_server_holds_it() {
    use yibao_store::LockMode::{Exclusive, Shared};
    for db in TestDb::all().await {
        let l = db.label;
        let other = Store::connect(&db.config).await.unwrap();
        let one = db.store.try_lock(Shared).await.unwrap().expect("a first server");
        let two = other.try_lock(Shared).await.unwrap().expect("a second server beside it");
        assert!(other.try_lock(Exclusive).await.unwrap().is_none(), "{l}: maintenance beside servers");
        drop(one);
        assert!(db.store.try_lock(Exclusive).await.unwrap().is_none(), "{l}: one server still runs");
        drop(two);
        let alone = db.store.try_lock(Exclusive).await.unwrap();
        assert!(alone.is_some(), "{l}: no server runs");
        assert!(other.try_lock(Shared).await.unwrap().is_none(), "{l}: no server starts during maintenance");
        drop(alone);
        other.close().await;
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

/// The diagnosis list: bad rows named by line and not taken, a later import replacing a code's
/// name, found by part of the name, the start of the code or the pinyin initials, named in the
/// order asked; an import of nothing but bad rows stores nothing.
#[tokio::test]
async fn the_diagnosis_list_is_imported_and_found_by_name_code_or_initials() {
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        let import = |name: &'static str, csv: &'static str| async move {
            let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
            let report = s.import_diagnoses(&mut w, name, csv.as_bytes()).await;
            if report.as_ref().is_ok_and(|r| r.accepted > 0) {
                w.commit().await.unwrap();
            }
            report
        };
        let first = "诊断编码,诊断名称\nI10,高血压\nI21.0,急性前壁心肌梗死\nbad,坏的\nE11.9,2型糖尿病\nJ06.9,\n";
        let r = import("a.csv", first).await.unwrap();
        assert_eq!((r.accepted, r.rejected.iter().map(|x| x.line).collect::<Vec<_>>()), (3, vec![4, 6]), "{l}");
        let r = import("b.csv", "code,name\nI10,原发性高血压\nI20.0,不稳定型心绞痛\n").await.unwrap();
        assert_eq!(r.accepted, 2, "{l}");
        assert_eq!(s.diagnosis_count().await.unwrap(), 4, "{l}: I10 replaced, not doubled");
        let codes =
            |found: Vec<yibao_core::diagnosis::Diagnosis>| found.into_iter().map(|d| d.code).collect::<Vec<_>>();
        // (typed, the codes found)
        let rows: &[(&str, &[&str])] = &[
            ("高血压", &["I10"]),
            ("gxy", &["I10"]),
            ("yfx", &["I10"]),
            ("i2", &["I20.0", "I21.0"]),
            ("心", &["I20.0", "I21.0"]),
            ("2xt", &["E11.9"]),
            ("100%", &[]),
            ("  ", &[]),
        ];
        for (typed, want) in rows {
            let mut got = codes(s.search_diagnoses(typed, 10).await.unwrap());
            got.sort();
            assert_eq!(got, *want, "{l}: {typed}");
        }
        let named = s.diagnoses_named(&["E11.9".into(), "Z99.9".into(), "I10".into()]).await.unwrap();
        assert_eq!(
            named.iter().map(|d| (d.code.as_str(), d.name.as_str())).collect::<Vec<_>>(),
            [("E11.9", "2型糖尿病"), ("I10", "原发性高血压")],
            "{l}"
        );
        let r = import("c.csv", "诊断编码,诊断名称\nxx,坏\n").await.unwrap();
        assert_eq!(r.accepted, 0, "{l}");
        assert_eq!(s.diagnosis_count().await.unwrap(), 4, "{l}");
        assert!(import("d.csv", "a,b\n1,2\n").await.is_err(), "{l}: no code and name columns");
        db.cleanup().await;
    }
}

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
        yibao_demo::seed_demo(&db.store, &db.blobs(), NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()).await.unwrap();
    assert_eq!(summary.policies, 3);
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

    // Filings in every state, cards, and 张三 covered in Beijing under his filing.
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let filings = db.store.filings_in(&Scope::parse_list("620300").unwrap(), None, 50).await.unwrap();
    assert_eq!(filings.len(), summary.filings);
    let mut states: Vec<_> = filings.iter().map(|f| f.status.code()).collect();
    states.sort_unstable();
    states.dedup();
    assert_eq!(states, ["applied", "approved", "rejected"]);
    let zhang = db.store.person_by_resident_id(&yibao_demo::DEMO_INSURED_ID.parse().unwrap()).await.unwrap();
    let report = db.store.cover_report(&zhang.unwrap(), today, Some("H11010100001")).await.unwrap();
    assert_eq!(report.card, yibao_core::cover::CardState::Active);
    assert_eq!(report.cover.unwrap().code, "filed");
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

fn institution(code_: &str, name: &str, region: &str, tier: InstitutionTier) -> InstitutionInput {
    InstitutionInput {
        code: code_.into(),
        name: name.into(),
        region: code(region),
        tier,
        grade: HospitalGrade::Level2,
        designated_from: NaiveDate::from_ymd_opt(2015, 1, 1),
        designated_to: None,
        may_issue_referrals: tier.may_issue_referrals(),
        direct_settlement: true,
    }
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn problem_codes(r: Result<impl std::fmt::Debug, StoreError>) -> Vec<&'static str> {
    match r {
        Err(StoreError::Invalid(v)) => vec![v.code],
        Err(StoreError::Problems(v)) => v.iter().map(|e| e.code).collect(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// One write, committed (or dropped on error, which rolls back).
macro_rules! write {
    ($s:expr, |$w:ident| $body:expr) => {{
        let mut $w = $s.begin_write(&Actor::system("test")).await.unwrap();
        let r = $body.await;
        if r.is_ok() {
            $w.commit().await.unwrap();
        }
        r
    }};
}

#[tokio::test]
async fn referral_filing_card_and_no_card_certificate_decide_the_cover() {
    use yibao_core::card::{CardApplication, CardEvent, CardStatus, PhotoSource};
    use yibao_core::cover::{CardState, CoverKind, FilingStatus, FilingType};
    use yibao_core::filing::{Channel, Decision, DocumentKind, FilingApplication, FilingDocument, RejectReason};
    use yibao_store::ReferralInput;

    for db in TestDb::all().await {
        let s = &db.store;
        let l = db.label;
        let today = day("2026-05-11");
        let person = add_person(s, &person_input("620302", 7, 21, "李四")).await;
        let (city, township, lanzhou) = write!(s, |w| async {
            let a = s
                .create_institution(
                    &mut w,
                    &institution("H62030200001", "金昌市中心医院", "620302", InstitutionTier::City),
                )
                .await?;
            let b = s
                .create_institution(
                    &mut w,
                    &institution("H62030200006", "宁远堡镇卫生院", "620302", InstitutionTier::Township),
                )
                .await?;
            let c = s
                .create_institution(
                    &mut w,
                    &institution("H62010200001", "兰州大学第一医院", "620102", InstitutionTier::Province),
                )
                .await?;
            Ok::<_, StoreError>((a, b, c))
        })
        .unwrap();

        // Referral certificates: a township centre cannot issue one; the city hospital can,
        // and it counts only with the second (window) seal.
        let input = ReferralInput {
            resident_id: person.resident_id.clone(),
            diagnosis: "冠状动脉粥样硬化性心脏病".into(),
            destination: code("620100"),
            destination_institution: None,
            valid_from: today,
            valid_to: day("2026-08-10"),
            hospital_seal_by: "医务科 周医生".into(),
        };
        assert_eq!(problem_codes(write!(s, |w| s.issue_referral(&mut w, &township, &input, today))), ["tier"], "{l}");
        let referral = write!(s, |w| s.issue_referral(&mut w, &city, &input, today)).unwrap();
        // The year's running number, then a random tail nobody can guess from another number.
        let (running, tail) = referral.number.split_at("ZZH62030200001202600001".len());
        assert_eq!(running, "ZZH62030200001202600001", "{l}");
        assert!(tail.len() == 6 && tail.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()), "{tail}");
        assert!(!referral.sealed());

        let app = FilingApplication {
            kind: FilingType::Referral,
            destination: Some(code("620100")),
            institution: None,
            start: today,
            documents: vec![FilingDocument {
                kind: DocumentKind::ReferralCertificate,
                reference: referral.number.clone(),
                document_id: None,
            }],
            delegate_id: None,
        };
        let apply = |app: FilingApplication| async move {
            write!(s, |w| s.apply_filing(&mut w, person.id, &app, Channel::Online, None, today))
        };
        assert_eq!(problem_codes(apply(app.clone()).await), ["referral_unsealed"], "{l}");
        write!(s, |w| s.seal_referral(&mut w, &city, &referral.number, "医保窗口 吴")).unwrap();
        assert_eq!(problem_codes(write!(s, |w| s.seal_referral(&mut w, &city, &referral.number, "x"))), ["sealed"]);
        let found = s.referral_by_number(&referral.number).await.unwrap().unwrap();
        assert!(found.sealed() && found.person_name == "李四", "{l}: any institution can check it by number");

        // The application, then the clerk's decision; the cover follows the decision.
        let filing = apply(app.clone()).await.unwrap();
        assert_eq!(
            (filing.status, filing.end, filing.retroactive),
            (FilingStatus::Applied, Some(day("2026-11-10")), false)
        );
        assert_eq!(problem_codes(apply(app.clone()).await), ["pending"], "{l}: one application at a time");
        let at_lanzhou = |date: &'static str| async move {
            s.cover_report(&s.person(person.id).await.unwrap(), day(date), Some("H62010200001")).await.unwrap()
        };
        assert_eq!(
            at_lanzhou("2026-05-20").await.cover.unwrap().code,
            "not_filed",
            "{l}: the filing is only applied for"
        );

        let bad = Decision::Reject { reason: RejectReason::Other, note: String::new() };
        assert_eq!(
            problem_codes(write!(s, |w| s.decide_filing(&mut w, filing.id, filing.version, &bad))),
            ["required"]
        );
        let stale = write!(s, |w| s.decide_filing(&mut w, filing.id, filing.version + 1, &Decision::Approve));
        assert!(matches!(stale, Err(StoreError::Stale("filing"))), "{l}: {stale:?}");
        let approved = write!(s, |w| s.decide_filing(&mut w, filing.id, filing.version, &Decision::Approve)).unwrap();
        assert_eq!(approved.status, FilingStatus::Approved);
        assert_eq!(
            problem_codes(write!(s, |w| s.decide_filing(&mut w, filing.id, approved.version, &Decision::Approve))),
            ["decided"],
            "{l}: decided once"
        );

        // The card: applied (30 working days), collected, activated; then lost.
        let card_app = CardApplication {
            photo: PhotoSource::IdCard,
            photo_reference: String::new(),
            bank: "甘肃银行".into(),
            applicant_confirmed: true,
            service_point_confirmed: true,
        };
        let card = write!(s, |w| s.apply_card(&mut w, person.id, &card_app, day("2026-03-02"))).unwrap();
        assert_eq!(card.expected_on, day("2026-04-14"), "{l}: 30 working days past Qingming");
        let event = |id: i64, e: CardEvent, on: &'static str| async move {
            write!(s, |w| s.card_event(&mut w, id, e, day(on), today))
        };
        assert_eq!(problem_codes(event(card.id, CardEvent::Activate, "2026-04-15").await), ["not_collected"]);
        assert_eq!(
            problem_codes(event(card.id, CardEvent::Collect, "2026-03-01").await),
            ["range"],
            "{l}: before applying"
        );
        // Made: the person is told to collect it at the bank; the status stays 「制卡中」.
        let unread = s.unread_notices(person.id).await.unwrap();
        let ready = event(card.id, CardEvent::Ready, "2026-04-10").await.unwrap();
        assert_eq!((ready.status, ready.ready_on), (CardStatus::Applied, Some(day("2026-04-10"))), "{l}");
        assert_eq!(s.unread_notices(person.id).await.unwrap(), unread + 1, "{l}: told once");
        let told = s.notices_of(person.id, 1).await.unwrap().remove(0);
        assert!(told.text.zh.contains("甘肃银行") && told.text.zh.contains("领取"), "{l}: {told:?}");
        assert_eq!(problem_codes(event(card.id, CardEvent::Ready, "2026-04-11").await), ["transition"], "{l}: once");
        assert_eq!(
            problem_codes(event(card.id, CardEvent::Collect, "2026-04-09").await),
            ["range"],
            "{l}: not collected before it was ready"
        );
        event(card.id, CardEvent::Collect, "2026-04-15").await.unwrap();
        event(card.id, CardEvent::Activate, "2026-04-15").await.unwrap();
        let c = at_lanzhou("2026-05-20").await.cover.unwrap();
        assert!(matches!(c.kind, CoverKind::Filed { kind: FilingType::Referral, .. }), "{l}: {c:?}");
        assert!(c.direct_settlement);
        assert_eq!(at_lanzhou("2026-11-11").await.cover.unwrap().kind, CoverKind::NotFiled, "{l}: expired");
        assert_eq!(problem_codes(write!(s, |w| s.apply_card(&mut w, person.id, &card_app, today))), ["exists"]);

        // Reported lost by mistake, found two days later (解挂): in use again from the day
        // found, and the two lost days stay on record.
        assert_eq!(problem_codes(event(card.id, CardEvent::Found, "2026-04-21").await), ["transition"], "{l}");
        event(card.id, CardEvent::ReportLost, "2026-04-20").await.unwrap();
        assert_eq!(problem_codes(event(card.id, CardEvent::Found, "2026-04-19").await), ["range"], "{l}");
        let found = event(card.id, CardEvent::Found, "2026-04-22").await.unwrap();
        assert_eq!(
            (found.status, found.lost_on, found.earlier_losses.clone()),
            (CardStatus::Active, None, vec![(day("2026-04-20"), day("2026-04-22"))]),
            "{l}"
        );
        let p = s.person(person.id).await.unwrap();
        for (on, want) in
            [("2026-04-19", CardState::Active), ("2026-04-21", CardState::Lost), ("2026-04-22", CardState::Active)]
        {
            assert_eq!(s.cover_report(&p, day(on), None).await.unwrap().card, want, "{l}: {on}");
        }
        assert_eq!(
            problem_codes(event(card.id, CardEvent::ReportLost, "2026-04-21").await),
            ["range"],
            "{l}: not lost again before it was found"
        );

        event(card.id, CardEvent::ReportLost, "2026-05-06").await.unwrap();
        let r = at_lanzhou("2026-05-20").await;
        assert_eq!((r.card, r.cover.as_ref().unwrap().code), (CardState::Lost, "card_lost"), "{l}");
        assert!(!r.cover.unwrap().direct_settlement);
        // A no-card certificate lets the hospital settle until the replacement arrives.
        let cert = write!(s, |w| s.issue_no_card_certificate(&mut w, person.id, Some(lanzhou.id), today)).unwrap();
        assert_eq!(cert.valid_to, day("2026-06-09"));
        let c = at_lanzhou("2026-05-20").await.cover.unwrap();
        assert!(c.direct_settlement && c.code == "filed", "{l}: {c:?}");
        let local =
            s.cover_report(&s.person(person.id).await.unwrap(), day("2026-05-20"), Some(&city.code)).await.unwrap();
        assert_eq!(local.cover.unwrap().code, "card_lost", "{l}: the certificate names the Lanzhou hospital only");

        // The replacement: applying is allowed now, and activating it ends the lost card;
        // the loss period stays provable.
        let new = write!(s, |w| s.apply_card(&mut w, person.id, &card_app, today)).unwrap();
        assert_eq!(new.replaces, Some(card.id));
        assert_eq!(
            problem_codes(event(card.id, CardEvent::Found, "2026-05-10").await),
            ["replacing"],
            "{l}: not found again while its replacement is being made"
        );
        event(new.id, CardEvent::Collect, "2026-05-11").await.unwrap();
        event(new.id, CardEvent::Activate, "2026-05-11").await.unwrap();
        let old = s.card(card.id).await.unwrap();
        assert_eq!(
            (old.status, old.lost_on, old.ended_on),
            (CardStatus::Replaced, Some(day("2026-05-06")), Some(today))
        );
        let p = s.person(person.id).await.unwrap();
        assert_eq!(s.cover_report(&p, day("2026-05-08"), None).await.unwrap().card, CardState::Lost, "{l}");
        assert_eq!(s.cover_report(&p, today, None).await.unwrap().card, CardState::Active, "{l}");
        assert_eq!(s.cover_report(&p, day("2026-04-21"), None).await.unwrap().card, CardState::Lost, "{l}: still");

        // A long-term filing cannot be revoked before six months; a temporary one can.
        let long = FilingApplication {
            kind: FilingType::LongTermResident,
            destination: Some(code("110000")),
            institution: None,
            start: today,
            documents: vec![FilingDocument {
                kind: DocumentKind::ResidencePermit,
                reference: "京居 123".into(),
                document_id: None,
            }],
            delegate_id: None,
        };
        let revoked = write!(s, |w| s.revoke_filing(&mut w, approved.id, today)).unwrap();
        assert_eq!((revoked.status, revoked.revoked_from), (FilingStatus::Revoked, Some(today)));
        let lf = apply(long).await.unwrap();
        let lf = write!(s, |w| s.decide_filing(&mut w, lf.id, lf.version, &Decision::Approve)).unwrap();
        assert_eq!(problem_codes(write!(s, |w| s.revoke_filing(&mut w, lf.id, today))), ["minimum_period"], "{l}");
        // Changing it (moving to Shanghai) waits for the same period; once approved, the
        // change revokes the old filing from its own start.
        let mut change = FilingApplication {
            kind: FilingType::LongTermResident,
            destination: Some(code("310000")),
            institution: None,
            start: today,
            documents: vec![FilingDocument {
                kind: DocumentKind::ResidencePermit,
                reference: "沪居 456".into(),
                document_id: None,
            }],
            delegate_id: None,
        };
        let early = write!(s, |w| s.apply_filing(&mut w, person.id, &change, Channel::Window, Some(lf.id), today));
        assert_eq!(problem_codes(early), ["minimum_period"], "{l}");
        let later = day("2026-11-11");
        change.start = later;
        let nf =
            write!(s, |w| s.apply_filing(&mut w, person.id, &change, Channel::Window, Some(lf.id), later)).unwrap();
        assert_eq!(nf.replaces, Some(lf.id));
        write!(s, |w| s.decide_filing(&mut w, nf.id, nf.version, &Decision::Approve)).unwrap();
        let old = s.filing(lf.id).await.unwrap();
        assert_eq!((old.status, old.revoked_from), (FilingStatus::Revoked, Some(later)), "{l}");

        // Every step is in the audit log.
        let actions: Vec<String> = s.audit_entries_after(0, 500).await.unwrap().into_iter().map(|e| e.action).collect();
        for a in [
            "referral.issue",
            "referral.seal",
            "filing.apply",
            "filing.approved",
            "filing.revoke",
            "card.apply",
            "card.lost",
            "card.found",
            "card.replaced",
            "no_card_certificate.issue",
        ] {
            assert!(actions.iter().any(|x| x == a), "{l}: {a} missing from {actions:?}");
        }
        db.cleanup().await;
    }
}

fn institution_account(code: Option<&str>, role: Role) -> NewAccount {
    NewAccount {
        username: "his".into(),
        display_name: "医保办".into(),
        role,
        password: "Passw0rd!".into(),
        scope: Scope::default(),
        person_id: None,
        institution_code: code.map(str::to_string),
        employer_code: None,
        temporary_password: false,
    }
}

/// An institution's staff log in to the portal and act for their institution; an account
/// of that role needs a real institution, and no other role may have one.
#[tokio::test]
async fn an_institution_account_logs_in_for_its_institution() {
    for db in TestDb::all().await {
        let s = &db.store;
        let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
        let inst = s
            .create_institution(&mut w, &institution("H62030200001", "金昌市中心医院", "620302", InstitutionTier::City))
            .await
            .unwrap();
        for (code, role, field) in [
            (None, Role::Institution, "institution_code"),
            (Some("H99999999999"), Role::Institution, "institution_code"),
            (Some("H62030200001"), Role::Reviewer, "institution_code"),
        ] {
            match s.create_account(&mut w, &institution_account(code, role)).await {
                Err(StoreError::Invalid(v)) => assert_eq!(v.field, field, "{code:?} {role}"),
                other => panic!("{code:?} {role}: {other:?}"),
            }
        }
        let a = s.create_account(&mut w, &institution_account(Some("H62030200001"), Role::Institution)).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(a.institution_id, Some(inst.id));
        let LoginOutcome::Ok { token, session } =
            s.login(&Actor::system("test"), "his", "Passw0rd!", Utc::now()).await.unwrap()
        else {
            panic!("login failed")
        };
        assert_eq!(session.institution.as_ref().map(|i| i.id), Some(inst.id));
        let again = s.session(&token, Utc::now()).await.unwrap().unwrap();
        assert_eq!(again.institution.map(|i| i.code), Some("H62030200001".to_string()));
        // The schema holds the rule too: no institution account without an institution.
        assert!(s.execute_raw("UPDATE accounts SET institution_id = NULL WHERE username = 'his'").await.is_err());
        db.cleanup().await;
    }
}

/// Migration 5 rebuilds the accounts table on SQLite: the accounts, their ids and live
/// sessions survive the upgrade on both backends.
#[tokio::test]
async fn upgrading_to_institution_accounts_keeps_accounts_and_sessions() {
    for db in TestDb::all_at(Some(4)).await {
        let s = &db.store;
        s.execute_raw(
            "INSERT INTO accounts (username, display_name, role, password_hash, scope, created_at) \
             VALUES ('old', '旧账号', 'reviewer', 'x', '620300', '2026-01-01T00:00:00Z')",
        )
        .await
        .unwrap();
        s.execute_raw(
            "INSERT INTO sessions (token_hash, account_id, csrf_token, created_at, expires_at) \
             SELECT 'h', id, 'c', '2026-01-01T00:00:00Z', '2099-01-01T00:00:00Z' FROM accounts",
        )
        .await
        .unwrap();
        s.migrate().await.unwrap();
        let accounts = s.list_accounts().await.unwrap();
        assert_eq!(accounts.len(), 1, "{}", db.label);
        assert_eq!((accounts[0].username.as_str(), accounts[0].institution_id), ("old", None));
        // The session still points at the account (foreign keys hold after the rebuild).
        assert!(s.execute_raw("DELETE FROM accounts").await.is_err(), "{}: sessions reference it", db.label);
        db.cleanup().await;
    }
}

/// Group commit: writes that queue for the turn share commits, and each is still all or
/// nothing — a write that fails (here after a statement the database refused, which leaves a
/// PostgreSQL transaction unusable until rolled back) or is dropped leaves nothing behind,
/// and the writes batched with it are committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_share_commits_and_each_stays_all_or_nothing() {
    for db in TestDb::all().await {
        let taken = add_person(&db.store, &person_input("620302", 1, 900, "已在册")).await;
        let before = db.store.write_stats();
        let mut tasks = Vec::new();
        for i in 0..24u16 {
            let s = db.store.clone();
            let taken = taken.resident_id.clone();
            tasks.push(tokio::spawn(async move {
                let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
                let input = person_input("620302", 1 + u32::from(i % 28), 100 + i, &format!("批量{i}"));
                s.create_person(&mut w, &input).await.unwrap();
                match i % 3 {
                    // Fails after its first change: a second person with a taken ID.
                    0 => {
                        let dup = PersonInput { resident_id: taken, ..input };
                        assert!(matches!(s.create_person(&mut w, &dup).await, Err(StoreError::Duplicate { .. })));
                        false
                    }
                    // Gives up without committing.
                    1 => false,
                    _ => {
                        w.commit().await.unwrap();
                        true
                    }
                }
            }));
        }
        let mut committed = Vec::new();
        for (i, t) in tasks.into_iter().enumerate() {
            if t.await.unwrap() {
                committed.push(i);
            }
        }
        let stats = db.store.write_stats().since(before);
        assert_eq!(stats.writes, committed.len() as u64, "{}", db.label);
        assert!(stats.commits < stats.writes, "no write shared a commit: {stats:?}");
        let found =
            db.store.search_persons(&PersonQuery { text: Some("批量".into()), limit: 100, ..Default::default() }).await;
        let mut names: Vec<String> = found.unwrap().items.into_iter().map(|p| p.name.to_string()).collect();
        names.sort();
        let mut expected: Vec<String> = committed.iter().map(|i| format!("批量{i}")).collect();
        expected.sort();
        assert_eq!(names, expected, "{}", db.label);
        let v = db.store.verify_audit_log().await.unwrap();
        assert_eq!((v.entries, v.first_break), (1 + committed.len() as i64, None), "{}", db.label);
        db.cleanup().await;
    }
}

/// A write that finished hands the open batch to one waiting; if that one is dropped and
/// nobody else waits, the batch is still committed: the first write is answered, stored, and
/// the dropped one left nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_write_does_not_strand_the_batch_it_joined() {
    for db in TestDb::all().await {
        let s = db.store.clone();
        let mut first = s.begin_write(&Actor::system("test")).await.unwrap();
        s.create_person(&mut first, &person_input("620302", 2, 301, "先提交")).await.unwrap();
        let (joined, joined_rx) = tokio::sync::oneshot::channel();
        let (give_up, give_up_rx) = tokio::sync::oneshot::channel::<()>();
        let second = {
            let s = s.clone();
            tokio::spawn(async move {
                let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
                s.create_person(&mut w, &person_input("620302", 3, 302, "被放弃")).await.unwrap();
                joined.send(()).unwrap();
                give_up_rx.await.unwrap();
                drop(w);
            })
        };
        // The second write is waiting for the turn, so the first hands the batch on.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let commit = tokio::spawn(first.commit());
        joined_rx.await.unwrap();
        assert!(!commit.is_finished(), "{}: the first write answered before its batch was committed", db.label);
        give_up.send(()).unwrap();
        second.await.unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), commit).await.unwrap().unwrap().unwrap();
        let names: Vec<String> = s
            .search_persons(&PersonQuery { region: Some(code("620302")), limit: 100, ..Default::default() })
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|p| p.name.to_string())
            .collect();
        assert!(names.contains(&"先提交".to_string()) && !names.contains(&"被放弃".to_string()), "{names:?}");
        assert_eq!(s.verify_audit_log().await.unwrap().first_break, None);
        // The writer goes on: a later write begins a new batch.
        add_person(&s, &person_input("620302", 4, 303, "之后")).await;
        db.cleanup().await;
    }
}
