//! Individual accounts on SQLite and (where reachable) PostgreSQL: the monthly crediting job
//! credits each person once per month however often it runs; 门诊共济 lets an authorised
//! family member's pharmacy purchase draw on the holder's account until revoked; purchases at
//! once never overdraw.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use yibao_core::contribution::months::YearMonth;
use yibao_core::{Fen, Scope};
use yibao_store::testing::{actor_of, refusal_code, TestDb};
use yibao_store::{Actor, Relation};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn ym(s: &str) -> YearMonth {
    s.parse().unwrap()
}

/// The demo credited January to October; October again credits nobody, November (paid by
/// nobody yet) only the retirees; every credit is explained, and the sum of a person's
/// entries is the balance.
#[tokio::test]
async fn the_crediting_job_credits_each_person_once_a_month() {
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let region = "620302".parse().unwrap();
        let runs = s.credit_runs(region).await.unwrap();
        assert_eq!(runs.len(), 10, "{l}: January to October");
        assert!(runs.iter().all(|r| r.finished_at.is_some() && r.credited > 0), "{l}: {runs:?}");
        let october = runs.iter().find(|r| r.month == ym("2026-10")).unwrap().clone();
        let before = db.count("account_entries").await;
        let system = Actor::system("test");
        let mut seen = Vec::new();
        let again = s.credit_accounts(&system, region, ym("2026-10"), today(), |d, t| seen.push((d, t))).await.unwrap();
        assert_eq!((again.credited, again.amount), (0, Fen::ZERO), "{l}: run twice, credited once");
        assert_eq!(seen, [(0, 0)], "{l}");
        assert_eq!(db.count("account_entries").await, before, "{l}");
        let dup = db
            .number(
                "SELECT COUNT(*) FROM (SELECT person_id, credit_month FROM account_entries WHERE kind = 'credit' \
                     GROUP BY person_id, credit_month HAVING COUNT(*) > 1) d",
            )
            .await;
        assert_eq!(dup, 0, "{l}");
        // November: the unit's bill is unpaid, so the retirees' fixed amounts and the flexible
        // worker who paid November online.
        let november = s.credit_accounts(&system, region, ym("2026-11"), today(), |_, _| {}).await.unwrap();
        let retirees = db
            .number(
                "SELECT COUNT(*) FROM persons WHERE pooling_region = 620300 AND scheme = '310' \
                     AND category = 'retired' AND status = 'active'",
            )
            .await;
        let paid = db.number("SELECT COUNT(*) FROM contribution_months WHERE month = '2026-11'").await;
        assert_eq!((november.credited, paid), (retirees + 1, 1), "{l}");
        assert!(november.credited < october.credited, "{l}");
        let future = s.credit_accounts(&system, region, ym("2026-12"), today(), |_, _| {}).await;
        assert_eq!(refusal_code(future), "future", "{l}");
        let beijing = s.credit_accounts(&system, "110105".parse().unwrap(), ym("2026-10"), today(), |_, _| {}).await;
        assert_eq!(refusal_code(beijing), "no_rules", "{l}");

        // 张三: January to September's credits (October's bill is unpaid), each saying how it
        // was computed; the ledger sums to the balance.
        let account = s.individual_account(1).await.unwrap().unwrap();
        let credits: Vec<_> = account.entries.iter().filter(|e| e.kind == "credit").collect();
        assert_eq!(credits.len(), 9, "{l}");
        let rules = s.contribution_rules(region, 2026).await.unwrap().unwrap();
        let wage = yibao_demo::demo_wage(1);
        let bill = rules.employee.bill(wage);
        let (expected, _) = rules.account_credit(yibao_core::registry::PersonCategory::InService, 40, Some(&bill));
        assert_eq!(credits[0].amount, expected, "{l}");
        assert!(credits[0].note.as_ref().unwrap().zh.contains("个人缴费"), "{l}");
        let sum: Fen = account.entries.iter().map(|e| e.amount).sum();
        assert_eq!(sum, account.balance, "{l}");
        db.cleanup().await;
    }
}

/// 张三 authorises his mother: her purchase at the pharmacy draws on his account (both
/// ledgers say so); revoked, her next purchase is cash; reversed, the money goes back.
#[tokio::test]
async fn a_family_member_buys_on_the_holders_account_until_revoked() {
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let zhang = s.person(1).await.unwrap();
        let mother = s.person_by_resident_id(&yibao_demo::DEMO_MOTHER_ID.parse().unwrap()).await.unwrap().unwrap();
        let family = s.family_of(zhang.id).await.unwrap();
        assert_eq!(
            family.iter().map(|f| (f.member_id, f.relation, f.revoked_at.is_none())).collect::<Vec<_>>(),
            [(mother.id, Relation::Parent, true)],
            "{l}"
        );
        // The demo's purchase: 48.50 in the catalog from 张三's account, 6.80 (丙类) in cash.
        let bought = s.family_purchases(zhang.id).await.unwrap();
        assert_eq!(bought.len(), 1, "{l}");
        let p = &bought[0];
        assert_eq!(
            (p.split.acct_pay, p.split.acct_mulaid_pay, p.split.psn_cash_pay),
            (Fen::ZERO, "48.50".parse().unwrap(), "6.80".parse().unwrap()),
            "{l}"
        );
        let ledger = s.individual_account(zhang.id).await.unwrap().unwrap();
        let used = ledger.entries.iter().find(|e| e.kind == "pharmacy").unwrap();
        assert_eq!((used.amount, used.drawn_by), ("-48.50".parse().unwrap(), Some(mother.id)), "{l}");
        assert!(used.note.as_ref().unwrap().zh.contains("李秀兰"), "{l}");
        // Her outpatient visit at the central hospital: her in-scope share from his account.
        let visit = ledger.entries.iter().find(|e| e.kind == "settlement" && e.drawn_by == Some(mother.id)).unwrap();
        let settled = s.person_settlements(mother.id).await.unwrap();
        assert_eq!(settled.len(), 1, "{l}");
        assert_eq!(visit.reference.as_deref(), Some(settled[0].setl_id.as_str()), "{l}");
        assert_eq!(visit.amount, Fen::ZERO.saturating_sub(settled[0].list.acct_mulaid_pay), "{l}");
        assert!(settled[0].list.acct_mulaid_pay.is_positive() && settled[0].list.acct_pay == Fen::ZERO, "{l}");

        // Refusals: himself, a wrong name, an impossible parent, twice.
        let mut w = s.begin_write(&actor_of(s, "zhangsan").await).await.unwrap();
        let rid = mother.resident_id.clone();
        let me = s.authorise_family(&mut w, zhang.id, &zhang.resident_id, "张三", Relation::Spouse, today()).await;
        assert_eq!(refusal_code(me), "self", "{l}");
        let wrong = s.authorise_family(&mut w, zhang.id, &rid, "李秀", Relation::Parent, today()).await;
        assert_eq!(refusal_code(wrong), "not_found", "{l}");
        let child = s.authorise_family(&mut w, zhang.id, &rid, "李秀兰", Relation::Child, today()).await;
        assert_eq!(refusal_code(child), "implausible", "{l}");
        let twice = s.authorise_family(&mut w, zhang.id, &rid, "李秀兰", Relation::Parent, today()).await;
        assert_eq!(refusal_code(twice), "authorised", "{l}");
        // Someone insured in another pooling region (a Lanzhou person of the demo): 门诊共济
        // stays within one region's funds.
        let mut elsewhere = None;
        for id in 1..=400 {
            if let Ok(p) = s.person(id).await {
                if p.insured_region.prefecture().to_string() == "620100" {
                    elsewhere = Some(p);
                    break;
                }
            }
        }
        let other = elsewhere.expect("a Lanzhou person in the demo");
        let r = s
            .authorise_family(&mut w, zhang.id, &other.resident_id, &other.name.to_string(), Relation::Spouse, today())
            .await;
        assert_eq!(refusal_code(r), "other_region", "{l}");
        drop(w);

        // Another purchase, then the reversal: the account is whole again.
        let pharmacy = s.institution_by_code(yibao_demo::DEMO_PHARMACY).await.unwrap();
        let rules = s.rules().await.unwrap();
        let at = today().and_hms_opt(9, 0, 0).unwrap();
        let balance = || async { s.individual_account(zhang.id).await.unwrap().unwrap().balance };
        let start = balance().await;
        let platform = Actor::system("platform");
        let mut w = s.begin_write(&platform).await.unwrap();
        let second = yibao_demo::mother_purchase("YD-T-2").unwrap();
        let settled = s.settle_pharmacy(&mut w, &rules, &pharmacy, &mother, &second, at).await.unwrap();
        let again = s.settle_pharmacy(&mut w, &rules, &pharmacy, &mother, &second, at).await;
        assert_eq!(refusal_code(again), "settled", "{l}: a receipt once");
        w.commit().await.unwrap();
        assert_eq!(balance().await, start.saturating_sub("48.50".parse().unwrap()), "{l}");
        let setl_id = settled.setl_id.unwrap();
        let mut w = s.begin_write(&platform).await.unwrap();
        s.reverse_pharmacy(&mut w, &pharmacy, &setl_id).await.unwrap();
        assert_eq!(refusal_code(s.reverse_pharmacy(&mut w, &pharmacy, &setl_id).await), "reversed", "{l}");
        w.commit().await.unwrap();
        assert_eq!(balance().await, start, "{l}: reversed");

        // Revoked: at once, the next purchase is all cash.
        let mut w = s.begin_write(&actor_of(s, "zhangsan").await).await.unwrap();
        s.revoke_family(&mut w, zhang.id, family[0].id).await.unwrap();
        w.commit().await.unwrap();
        let mut w = s.begin_write(&platform).await.unwrap();
        let third = yibao_demo::mother_purchase("YD-T-3").unwrap();
        let cash = s.settle_pharmacy(&mut w, &rules, &pharmacy, &mother, &third, at).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!((cash.split.acct_mulaid_pay, cash.holder_id), (Fen::ZERO, None), "{l}");
        assert_eq!(cash.split.psn_cash_pay, "55.30".parse().unwrap(), "{l}");
        // A hospital cannot use the pharmacy's transaction.
        let hospital = s.institution_by_code(yibao_demo::DEMO_INSTITUTION).await.unwrap();
        let quote = s.pharmacy_quote(&rules, &hospital, &mother, &third, at).await;
        assert_eq!(refusal_code(quote), "not_a_pharmacy", "{l}");
        db.cleanup().await;
    }
}

/// Twenty purchases at once against an account that can pay for three: the account pays
/// what it holds and never goes below zero; the rest is cash.
#[tokio::test]
async fn purchases_at_once_never_overdraw_the_account() {
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let zhang = s.person(1).await.unwrap();
        let pharmacy = s.institution_by_code(yibao_demo::DEMO_PHARMACY).await.unwrap();
        let rules = s.rules().await.unwrap();
        // Leave 张三 150.00 (three purchases' 48.50 and a little).
        let balance = s.individual_account(zhang.id).await.unwrap().unwrap().balance;
        let keep: Fen = "150.00".parse().unwrap();
        db.number(&format!(
            "UPDATE individual_accounts SET balance = {} WHERE person_id = {} RETURNING 0",
            keep.fen(),
            zhang.id
        ))
        .await;
        assert!(balance > keep, "{l}");
        let at = today().and_hms_opt(9, 0, 0).unwrap();
        let buy = |n: usize| {
            let (rules, pharmacy, zhang) = (&rules, &pharmacy, &zhang);
            async move {
                let purchase = yibao_demo::mother_purchase(&format!("YD-C-{n}")).unwrap();
                let mut w = s.begin_write(&Actor::system("platform")).await?;
                let out = s.settle_pharmacy(&mut w, rules, pharmacy, zhang, &purchase, at).await?;
                w.commit().await?;
                Ok::<_, yibao_store::StoreError>(out)
            }
        };
        let results = futures_util::future::join_all((0..20).map(buy)).await;
        let paid: Fen = results.iter().filter_map(|r| r.as_ref().ok()).map(|r| r.split.acct_pay).sum();
        assert!(results.iter().all(Result::is_ok), "{l}: {results:?}");
        let after = s.individual_account(zhang.id).await.unwrap().unwrap().balance;
        assert!(!after.is_negative(), "{l}");
        assert_eq!(paid, keep.saturating_sub(after), "{l}: what was paid left the account, no more");
        assert_eq!(paid, keep, "{l}: it paid all it held");
        db.cleanup().await;
    }
}

/// A withdrawal at the window needs its papers and an amount within the balance; the clerk
/// who recorded it cannot approve it; approved by another, the account is debited once and a
/// payment order pays the holder, and the payment books reconcile. After a death the whole
/// balance goes to the named heir.
#[tokio::test]
async fn withdrawals_need_their_papers_and_a_second_person_and_are_paid_once() {
    use yibao_core::contribution::withdrawal::WithdrawalReason;
    use yibao_store::{Heir, StoreError, WithdrawalRequest};
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let clerk = actor_of(s, "clerk").await;
        let finance = actor_of(s, "finance").await;
        let balance = |id: i64| async move { s.individual_account(id).await.unwrap().unwrap().balance };
        let zhang = 1;
        let before = balance(zhang).await;
        assert!(before > Fen::from_yuan(100), "{l}: {before}");

        let mut w = s.begin_write(&clerk).await.unwrap();
        let mut req = WithdrawalRequest {
            reason: WithdrawalReason::Window,
            amount: Some(before.saturating_add(Fen::from_fen(1))),
            papers: vec!["card".into()],
            heir: None,
        };
        let Err(StoreError::Problems(problems)) = s.request_withdrawal(&mut w, zhang, &req, today()).await else {
            panic!("{l}: refused")
        };
        let text: Vec<&str> = problems.iter().map(|p| p.message.zh.as_str()).collect();
        assert_eq!(text.len(), 2, "{l}: {text:?}");
        assert!(text[0].contains("本人居民身份证") && text[1].contains("超过余额"), "{l}: {text:?}");
        req.papers.push("id_card".into());
        req.amount = Some(Fen::from_yuan(100));
        let asked = s.request_withdrawal(&mut w, zhang, &req, today()).await.unwrap();
        assert_eq!(refusal_code(s.request_withdrawal(&mut w, zhang, &req, today()).await), "open", "{l}");
        assert_eq!(
            refusal_code(s.decide_withdrawal(&mut w, asked.id, asked.version, true, "", today()).await),
            "four_eyes",
            "{l}"
        );
        w.commit().await.unwrap();
        assert_eq!(balance(zhang).await, before, "{l}: nothing debited on request");

        let mut w = s.begin_write(&finance).await.unwrap();
        let done = s.decide_withdrawal(&mut w, asked.id, asked.version, true, "", today()).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!((done.state.as_str(), done.amount), ("approved", Some(Fen::from_yuan(100))), "{l}");
        assert_eq!(balance(zhang).await, before.saturating_sub(Fen::from_yuan(100)), "{l}");
        let mut w = s.begin_write(&finance).await.unwrap();
        let again = s.decide_withdrawal(&mut w, asked.id, done.version, true, "", today()).await;
        assert_eq!(refusal_code(again), "decided", "{l}: decided once");
        w.commit().await.unwrap();
        let entries = s.individual_account(zhang).await.unwrap().unwrap().entries;
        let last = entries.last().unwrap();
        assert_eq!((last.kind.as_str(), last.amount), ("withdrawal", Fen::from_yuan(-100)), "{l}");
        assert_eq!(last.reference.as_deref(), Some(asked.number.as_str()), "{l}");
        let orders = s.payment_orders_in(&Scope::new(vec!["620000".parse().unwrap()]), &[], 1000).await.unwrap();
        let order = orders.iter().find(|o| o.withdrawal_id == Some(asked.id)).expect("the withdrawal's order");
        assert_eq!(
            (order.amount, order.payee, order.subject_number.as_str()),
            (Fen::from_yuan(100), yibao_store::Payee::Insured, asked.number.as_str()),
            "{l}"
        );
        let books = s.reconcile_payments().await.unwrap();
        assert!(books.balances(), "{l}: {:?}", books.differences);

        // After a colleague's death: the heir with a bank account, the whole balance.
        // Another holder than the demo's colleague, whose withdrawal waits already.
        let waiting: Vec<i64> = s.withdrawals_waiting().await.unwrap().iter().map(|w| w.person_id).collect();
        assert_eq!(waiting.len(), 1, "{l}: the demo's");
        let mut holder = None;
        for id in (2..200).filter(|id| !waiting.contains(id)) {
            if let Some(a) = s.individual_account(id).await.unwrap() {
                if a.balance.is_positive() {
                    holder = Some(s.person(id).await.unwrap());
                    break;
                }
            }
        }
        let colleague = holder.expect("another account holder");
        let left = balance(colleague.id).await;
        let mut w = s.begin_write(&clerk).await.unwrap();
        let death = WithdrawalRequest {
            reason: WithdrawalReason::Death,
            amount: None,
            papers: WithdrawalReason::Death.papers().iter().map(|(c, _)| (*c).to_string()).collect(),
            heir: None,
        };
        let e = s.request_withdrawal(&mut w, colleague.id, &death, today()).await;
        assert!(matches!(&e, Err(StoreError::Problems(p)) if p[0].field == "heir"), "{l}: {e:?}");
        let heir = Heir {
            name: "张三".into(),
            resident_id: yibao_demo::DEMO_INSURED_ID.parse().unwrap(),
            bank_name: "中国工商银行金昌分行".into(),
            bank_card: yibao_core::BankCardNumber::complete("622202270300123456").unwrap(),
        };
        let asked = s
            .request_withdrawal(&mut w, colleague.id, &WithdrawalRequest { heir: Some(heir), ..death }, today())
            .await
            .unwrap();
        w.commit().await.unwrap();
        let mut w = s.begin_write(&finance).await.unwrap();
        let done = s.decide_withdrawal(&mut w, asked.id, asked.version, true, "", today()).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(done.amount, Some(left), "{l}: the whole balance");
        assert_eq!(balance(colleague.id).await, Fen::ZERO, "{l}");
        let orders = s.payment_orders_in(&Scope::new(vec!["620000".parse().unwrap()]), &[], 1000).await.unwrap();
        let order = orders.iter().find(|o| o.withdrawal_id == Some(asked.id)).unwrap();
        assert_eq!((order.payee, order.account_name.as_str()), (yibao_store::Payee::Heir, "张三"), "{l}");
        assert!(s.reconcile_payments().await.unwrap().balances(), "{l}");
        db.cleanup().await;
    }
}

/// 门诊共济 at a hospital, computed on a snapshot read before the turn to write: when the
/// holder's balance changes in between (his own purchase), the settlement is refused as stale
/// rather than drawing on a balance that is gone; read again, it settles and the account
/// never goes below zero.
#[tokio::test]
async fn a_family_settlement_read_before_the_holder_spends_is_stale() {
    use yibao_core::adjudicate::{DateText, FeeLine, MedType};
    use yibao_store::StoreError;
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let mother = s.person_by_resident_id(&yibao_demo::DEMO_MOTHER_ID.parse().unwrap()).await.unwrap().unwrap();
        let central = s.institution_by_code(yibao_demo::DEMO_INSTITUTION).await.unwrap();
        let hospital = Actor::system(&format!("platform:{}", central.code));
        let at = today().and_hms_opt(9, 0, 0).unwrap();
        let mut w = s.begin_write(&hospital).await.unwrap();
        let admission = yibao_store::Admission {
            insutype: mother.scheme,
            med_type: MedType::GeneralOutpatient,
            begntime: at,
            ipt_otp_no: "MZ-STALE".into(),
            diagnoses: vec![yibao_store::Diagnosis {
                diag_code: "I10.x00".into(),
                diag_name: "高血压".into(),
                main: true,
            }],
        };
        let cover = s.direct_cover(&mother, &central, today()).await.unwrap();
        let visit = s.admit_visit(&mut w, &central, &mother, &admission, &cover).await.unwrap();
        let line = yibao_store::FeeUpload {
            line: FeeLine {
                feedetl_sn: "1".into(),
                med_list_codg: "XC09AAE066A001010101734".into(),
                cnt: "4".parse().unwrap(),
                pric: "15.00".parse().unwrap(),
                det_item_fee_sumamt: "60.00".parse().unwrap(),
                fee_ocur_time: DateText(today()),
                reviewer_excluded: false,
                rescue_admitted: false,
            },
            init_feedetl_sn: None,
            medins_list_codg: "HIS-1".into(),
        };
        s.upload_fees(&mut w, central.id, &visit.mdtrt_id, &[line]).await.unwrap();
        w.commit().await.unwrap();
        let rules = s.rules().await.unwrap();
        let request = yibao_store::SettleRequest { acct_used_flag: true, medfee_sumamt: None, setl_time: at };
        let snapshot = s.visit_snapshot(&rules, central.id, &visit.mdtrt_id, today(), true).await.unwrap();

        // Meanwhile 张三 buys at the pharmacy on his own account.
        let pharmacy = s.institution_by_code(yibao_demo::DEMO_PHARMACY).await.unwrap();
        let zhang = s.person(1).await.unwrap();
        let mut w = s.begin_write(&Actor::system("platform:P62030200001")).await.unwrap();
        s.settle_pharmacy(&mut w, &rules, &pharmacy, &zhang, &yibao_demo::mother_purchase("YD-OWN").unwrap(), at)
            .await
            .unwrap();
        w.commit().await.unwrap();

        let mut w = s.begin_write(&hospital).await.unwrap();
        let stale = s.settle_visit(&mut w, &rules, &central, &visit.mdtrt_id, &request, Some(snapshot)).await;
        assert!(matches!(stale, Err(StoreError::Stale("individual_account"))), "{l}: {stale:?}");
        drop(w);
        let mut w = s.begin_write(&hospital).await.unwrap();
        let settled = s.settle_visit(&mut w, &rules, &central, &visit.mdtrt_id, &request, None).await.unwrap();
        w.commit().await.unwrap();
        assert!(settled.list.acct_mulaid_pay.is_positive(), "{l}");
        let ledger = s.individual_account(zhang.id).await.unwrap().unwrap();
        assert!(ledger.entries.iter().all(|e| !e.balance_after.is_negative()), "{l}");
        let sum: Fen = ledger.entries.iter().map(|e| e.amount).sum();
        assert_eq!(sum, ledger.balance, "{l}: the entries add up to the balance");
        db.cleanup().await;
    }
}
