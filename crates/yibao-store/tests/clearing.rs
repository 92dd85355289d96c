//! Clearing with designated institutions on SQLite and (where reachable) PostgreSQL: a
//! period's statement from yibao's own settlements, a confirmed finding deducted, an
//! objection upheld, review and approval by different people, the payment order to the
//! institution's own account, a reversal after clearing carried into the next period, and a
//! cancelled application freeing what it held.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use yibao_core::clearing::{ClearingState, Declared};
use yibao_core::payment::OrderState;
use yibao_core::registry::{Enrolment, PersonCategory};
use yibao_core::{BankCardNumber, Fen};
use yibao_store::testing::{actor_of, discharged_stay, refusal_code, settle_stay, TestDb};
use yibao_store::{Actor, Consequence, HitDecision, HitState, Store, StoreError, Subject};

const CENTRAL: &str = "H62030200001";

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn today() -> NaiveDate {
    day("2026-11-23")
}

/// A stay at the central hospital admitted on `admitted`, discharged and settled the next
/// day; its settlement.
async fn settled(
    s: &Store,
    person: i64,
    admitted: &str,
    ipt: &str,
    lines: &[(&str, &str, &str, &str, &str)],
) -> yibao_store::Settlement {
    let admitted = day(admitted);
    let mdtrt = discharged_stay(s, person, CENTRAL, admitted, ipt, ("I10", "高血压"), lines).await;
    let at = admitted.succ_opt().unwrap().and_hms_opt(11, 0, 0).unwrap();
    settle_stay(s, CENTRAL, &mdtrt, at).await.unwrap()
}

async fn write<T>(
    s: &Store,
    user: &str,
    f: impl AsyncFnOnce(&mut yibao_store::WriteTx) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let actor = if user == "system" { Actor::system("test") } else { actor_of(s, user).await };
    let mut w = s.begin_write(&actor).await?;
    let out = f(&mut w).await?;
    w.commit().await?;
    Ok(out)
}

#[tokio::test]
async fn a_period_is_cleared_once_deducted_objected_reviewed_approved_and_paid_to_the_institution() {
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let central = s.institution_by_code(CENTRAL).await.unwrap();
        // The demo cleared last month (October) for both hospitals: the central hospital's
        // with a deduction it objected to, the objection dismissed.
        let demo = s.clearings_of(central.id).await.unwrap();
        assert_eq!(demo.len(), 1, "{l}");
        assert_eq!((demo[0].state, demo[0].period_start), (ClearingState::Approved, day("2026-10-01")), "{l}");
        assert_eq!(demo[0].statement.deducted, Fen::from_yuan(25), "{l}");
        let objections = s.objections_of(demo[0].id).await.unwrap();
        assert_eq!(objections.iter().map(|o| o.state.as_str()).collect::<Vec<_>>(), ["dismissed"], "{l}");
        let people = s.institution_by_code("H62030200002").await.unwrap();
        assert_eq!(s.clearings_of(people.id).await.unwrap()[0].state, ClearingState::Approved, "{l}");
        // Persons both hospitals may settle directly in September, of either scheme.
        let all: Vec<i64> = (1..=300).collect();
        let mut worker = None;
        let mut resident = None;
        for id in yibao_demo::settleable(s, &all, day("2026-09-01"), 300).await.unwrap() {
            let p = s.person(id).await.unwrap();
            match p.enrolment {
                Enrolment::UnitEmployee if p.category == PersonCategory::InService => worker = worker.or(Some(p)),
                Enrolment::Resident => resident = resident.or(Some(p)),
                _ => {}
            }
        }
        let (worker, resident) = (worker.expect("an employee"), resident.expect("a resident"));
        let bed = ("1", "001102000010000", "3", "40.00", "120.00");
        let blood = ("2", "002201000010000", "1", "25.00", "25.00");
        let again = ("3", "002201000010000", "1", "25.00", "25.00");
        let operation = ("4", "003113000010000", "1", "4800.00", "4800.00");
        // September (the demo cleared October): two settlements of the employee scheme, one of the resident scheme; the
        // second charges the blood count twice on one day (JG-003).
        let first = settled(s, worker.id, "2026-09-08", "ZY-C-1", &[bed, operation]).await;
        let twice = settled(s, worker.id, "2026-09-24", "ZY-C-2", &[bed, blood, again, operation]).await;
        let third = settled(s, resident.id, "2026-09-15", "ZY-C-3", &[bed, operation]).await;

        // The auditor confirms the repeat charge with a deduction of 25 yuan.
        let hit = s.hits_of(Subject::Settlement(twice.id)).await.unwrap();
        let hit = hit.iter().find(|h| h.rule_code == "JG-003" && h.state == HitState::Open).expect("JG-003");
        let deduct = HitDecision::Confirm { consequence: Consequence::Deduct, amount: Fen::from_yuan(25) };
        write(s, "auditor", async |w| s.decide_hit(w, hit.id, deduct, "重复收费，拒付一次").await).await.unwrap();

        // November is not over on the 23rd.
        let r = write(s, "system", async |w| s.apply_for_clearing(w, central.id, today(), None, today()).await).await;
        assert_eq!(refusal_code(r), "period_open", "{l}");

        // What applying would build: the three settlements, by fund, the finding deducted and
        // 5 % withheld (the shipped rules).
        let preview = s.preview_clearing(central.id, day("2026-09-30"), today()).await.unwrap();
        let st = &preview.statement;
        assert_eq!((preview.period_start, preview.period_end), (day("2026-09-01"), day("2026-09-30")), "{l}");
        assert_eq!((st.settlements, st.carried, preview.lines.len()), (3, 0, 3), "{l}");
        let fund_of = |x: &yibao_store::Settlement| {
            x.list.fund_pay_sumamt.fen() + x.list.acct_pay.fen() + x.list.acct_mulaid_pay.fen()
        };
        assert_eq!(st.gross.fen(), fund_of(&first) + fund_of(&twice) + fund_of(&third), "{l}");
        assert_eq!(st.funds.iter().map(|f| f.amount).sum::<Fen>(), st.gross, "{l}");
        let codes: Vec<&str> = st.funds.iter().map(|f| f.fund_pay_type.as_str()).collect();
        assert!(codes.contains(&"310100") && codes.contains(&"390100"), "{l}: both schemes' pooled funds {codes:?}");
        assert_eq!((st.deducted, st.deductions.len()), (Fen::from_yuan(25), 1), "{l}");
        assert_eq!(
            st.deposit,
            yibao_core::Ratio::from_bp(500).unwrap().of(st.gross.saturating_sub(st.deducted)),
            "{l}"
        );
        assert_eq!(st.net.fen(), st.gross.fen() - st.deducted.fen() - st.deposit.fen(), "{l}: conserved");

        // The hospital's own figures must agree (3201 first): a wrong count is named.
        let declared = Declared {
            psntime: 4,
            medfee_sumamt: st.medfee,
            fund_appy_sum: st.pooled.saturating_add(st.critical),
            acct_pay: st.account,
            cash_payamt: st.cash,
        };
        let r = write(s, "system", async |w| {
            s.apply_for_clearing(w, central.id, day("2026-09-02"), Some(declared), today()).await
        })
        .await;
        match r {
            Err(StoreError::Problems(p)) => assert!(p[0].message.zh.contains("机构申报 4，医保结算 3"), "{l}: {p:?}"),
            other => panic!("{l}: {other:?}"),
        }
        let agreed = Declared { psntime: 3, ..declared };
        let applied = write(s, "system", async |w| {
            s.apply_for_clearing(w, central.id, day("2026-09-02"), Some(agreed), today()).await
        })
        .await
        .unwrap();
        assert_eq!((applied.state, &applied.statement), (ClearingState::Applied, st), "{l}: what the preview showed");
        assert!(applied.number.starts_with("QS620302"), "{l}: {}", applied.number);
        assert_eq!(
            db.number(&format!("SELECT COUNT(*) FROM settlements WHERE cleared_in = {}", applied.id)).await,
            3,
            "{l}"
        );
        let again =
            write(s, "system", async |w| s.apply_for_clearing(w, central.id, day("2026-09-20"), None, today()).await)
                .await;
        assert_eq!(refusal_code(again), "applied", "{l}: one clearing per period");
        assert_eq!(s.clearing_lines(applied.id).await.unwrap().len(), 3, "{l}");

        // The hospital objects to the deduction; review waits for the decision.
        let objection = write(s, "system", async |w| {
            s.object_to_deduction(w, applied.id, central.id, hit.id, "两次血常规分别为入院和术前检查，有医嘱").await
        })
        .await
        .unwrap();
        let r = write(s, "system", async |w| s.object_to_deduction(w, applied.id, people.id, hit.id, "x").await).await;
        assert!(matches!(r, Err(StoreError::NotFound(_))), "{l}: another hospital's clearing is not found");
        let r = write(s, "auditor", async |w| s.review_clearing(w, applied.id, applied.version).await).await;
        assert_eq!(refusal_code(r), "objections_open", "{l}");
        // Upheld: the finding costs nothing and the statement is built again without it.
        let (decided, rebuilt) = write(s, "auditor", async |w| {
            s.decide_objection(w, objection.id, objection.version, true, "医嘱齐全，异议成立").await
        })
        .await
        .unwrap();
        assert_eq!(decided.state, "upheld", "{l}");
        assert_eq!((rebuilt.statement.deducted, rebuilt.statement.gross), (Fen::ZERO, st.gross), "{l}");
        assert_eq!(rebuilt.statement.net.fen(), st.gross.fen() - rebuilt.statement.deposit.fen(), "{l}");
        let finding = s.hits_of(Subject::Settlement(twice.id)).await.unwrap();
        let finding = finding.iter().find(|h| h.id == hit.id).unwrap();
        assert_eq!((finding.consequence, finding.amount), (Some(Consequence::None), Some(Fen::ZERO)), "{l}");

        // Reviewed by the auditor; the reviewer cannot also approve; finance approves.
        let reviewed =
            write(s, "auditor", async |w| s.review_clearing(w, rebuilt.id, rebuilt.version).await).await.unwrap();
        let r =
            write(s, "auditor", async |w| s.approve_clearing(w, reviewed.id, reviewed.version, today()).await).await;
        assert_eq!(refusal_code(r), "four_eyes", "{l}");
        let (approved, order) =
            write(s, "finance", async |w| s.approve_clearing(w, reviewed.id, reviewed.version, today()).await)
                .await
                .unwrap();
        assert_eq!(approved.state, ClearingState::Approved, "{l}");
        let order = order.expect("the fund owes the hospital");
        assert_eq!((order.amount, order.state), (approved.statement.net, OrderState::Ready), "{l}: the demo's account");
        assert_eq!((order.person_id, order.institution_id), (None, Some(central.id)), "{l}");
        assert_eq!(order.subject_number, approved.number, "{l}");
        assert_ne!(order.bank_card.as_ref().map(|c| c.as_str()), Some("270302010900001299"), "{l}");

        // The hospital changes its corporate account (no check digit): the unpaid order takes it.
        let account = BankCardNumber::corporate("2703 0201 0900 0012 99").unwrap();
        write(s, "system", async |w| {
            s.set_institution_account(w, central.id, "金昌市中心医院", "中国工商银行金昌分行", &account).await
        })
        .await
        .unwrap();
        let order = s.payment_of_clearing(approved.id).await.unwrap().unwrap();
        assert_eq!((order.state, order.bank_card.as_ref()), (OrderState::Ready, Some(&account)), "{l}");
        assert!(s.reconcile_payments().await.unwrap().balances(), "{l}: the order is what the clearing approved");

        // Reversed after its period was cleared: carried into the next clearing (November) as a
        // negative line, and September's clearing is not touched.
        let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
        s.reverse_settlement(&mut w, central.id, &first.setl_id, "").await.unwrap();
        w.commit().await.unwrap();
        let december = day("2026-12-03");
        let november = s.preview_clearing(central.id, day("2026-11-01"), december).await.unwrap();
        let carried: Vec<_> = november.lines.iter().filter(|x| x.line.carried).collect();
        assert_eq!(carried.len(), 1, "{l}");
        assert_eq!(
            (carried[0].setl_id.as_str(), carried[0].line.pooled),
            (first.setl_id.as_str(), Fen::ZERO.saturating_sub(first.list.fund_pay_sumamt)),
            "{l}"
        );
        assert_eq!(
            s.clearing(approved.id).await.unwrap().statement,
            approved.statement,
            "{l}: a closed clearing stays"
        );

        // November applied and withdrawn (3204): what it held is free again.
        let nov =
            write(s, "system", async |w| s.apply_for_clearing(w, central.id, day("2026-11-01"), None, december).await)
                .await
                .unwrap();
        assert_eq!(nov.statement.carried, 1, "{l}");
        let cancelled = write(s, "system", async |w| s.cancel_clearing(w, nov.id, central.id).await).await.unwrap();
        assert_eq!(cancelled.state, ClearingState::Cancelled, "{l}");
        assert_eq!(
            db.number(&format!(
                "SELECT COUNT(*) FROM settlements WHERE cleared_in = {0} OR reversal_cleared_in = {0}",
                nov.id
            ))
            .await,
            0,
            "{l}"
        );
        let again =
            write(s, "system", async |w| s.apply_for_clearing(w, central.id, day("2026-11-30"), None, december).await)
                .await
                .unwrap();
        assert_eq!(again.statement, nov.statement, "{l}: the same statement again");
        let books = s.verify_books().await.unwrap();
        assert!(books.clean(), "{l}: {:#?}", books.differences);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_pharmacy_clears_its_purchases_a_reversal_gives_back_its_deduction_and_an_assessment_releases_the_deposit() {
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let pharmacy = s.institution_by_code(yibao_demo::DEMO_PHARMACY).await.unwrap();
        let central = s.institution_by_code(CENTRAL).await.unwrap();
        let december = day("2026-12-03");

        // The demo cleared the pharmacy's October (张三's own purchase). Its purchase of the
        // 21st (the mother's medicine, paid from 张三's account under 门诊共济) is its
        // November: the accounts owe it, no pooled fund.
        let demo = s.clearings_of(pharmacy.id).await.unwrap();
        assert_eq!(
            demo.iter().map(|c| (c.period_start, c.state)).collect::<Vec<_>>(),
            [(day("2026-10-01"), ClearingState::Approved)],
            "{l}"
        );
        assert_eq!(s.clearing_lines(demo[0].id).await.unwrap().len(), 1, "{l}");
        let bought: i64 = db
            .number(&format!(
                "SELECT acct_pay + acct_mulaid_pay FROM pharmacy_purchases WHERE institution_id = {} \
                 AND setl_date >= '2026-11-01'",
                pharmacy.id
            ))
            .await;
        let preview = s.preview_clearing(pharmacy.id, day("2026-11-05"), december).await.unwrap();
        let st = &preview.statement;
        assert_eq!((st.settlements, preview.lines.len()), (1, 1), "{l}");
        assert!(preview.lines[0].line.setl_id.starts_with("YD"), "{l}");
        assert_eq!(
            (st.pooled, st.critical, st.account, st.gross),
            (Fen::ZERO, Fen::ZERO, st.gross, Fen::from_fen(bought)),
            "{l}"
        );
        assert_eq!(st.funds.iter().map(|f| f.fund_pay_type.as_str()).collect::<Vec<_>>(), ["310200"], "{l}");
        let applied =
            write(s, "system", async |w| s.apply_for_clearing(w, pharmacy.id, day("2026-11-05"), None, december).await)
                .await
                .unwrap();
        assert_eq!(
            db.number(&format!("SELECT COUNT(*) FROM pharmacy_purchases WHERE cleared_in = {}", applied.id)).await,
            1,
            "{l}"
        );
        let reviewed =
            write(s, "auditor", async |w| s.review_clearing(w, applied.id, applied.version).await).await.unwrap();
        let (approved, order) =
            write(s, "finance", async |w| s.approve_clearing(w, reviewed.id, reviewed.version, december).await)
                .await
                .unwrap();
        let order = order.expect("the accounts owe the pharmacy");
        assert_eq!((order.amount, order.institution_id), (approved.statement.net, Some(pharmacy.id)), "{l}");
        assert_eq!(order.state, OrderState::AwaitingAccount, "{l}: the pharmacy gave no account yet");

        // Reversed after it was cleared (2103): carried into the pharmacy's next clearing,
        // and since nothing else fits, it waits: a clearing never leaves it owing the fund.
        let setl_id = preview.lines[0].setl_id.clone();
        write(s, "system", async |w| s.reverse_pharmacy(w, &pharmacy, &setl_id).await).await.unwrap();
        let next = s.preview_clearing(pharmacy.id, day("2026-12-01"), day("2027-01-05")).await.unwrap();
        assert_eq!(next.lines.len(), 0, "{l}: the reversal waits until settlements outweigh it");
        let books = s.verify_books().await.unwrap();
        assert!(books.clean(), "{l}: {:#?}", books.differences);

        // The annual assessment of 2026, once the year is over: 84 points release four fifths
        // of what the year's clearings held (the demo's October clearing).
        let january = day("2027-01-05");
        let october = s.clearings_of(central.id).await.unwrap().pop().unwrap();
        let held = october.statement.deposit;
        assert!(held.is_positive(), "{l}");
        let r = write(s, "auditor", async |w| s.assess_institution(w, central.id, 2026, 84, "", december).await).await;
        assert_eq!(refusal_code(r), "year_open", "{l}");
        let r = write(s, "auditor", async |w| s.assess_institution(w, central.id, 2026, 101, "", january).await).await;
        assert_eq!(refusal_code(r), "score", "{l}");
        let assessed = write(s, "auditor", async |w| {
            s.assess_institution(w, central.id, 2026, 84, "服务协议履行良好，病历书写扣分", january).await
        })
        .await
        .unwrap();
        assert_eq!((assessed.year, assessed.score, assessed.share.bp()), (2026, 84, 8_000), "{l}");
        let r = write(s, "auditor", async |w| s.assess_institution(w, central.id, 2026, 95, "", january).await).await;
        assert_eq!(refusal_code(r), "assessed", "{l}: once a year");
        let years: Vec<i32> = s.assessments_of(central.id).await.unwrap().iter().map(|a| a.year).collect();
        assert_eq!(years, [2026, 2025], "{l}: the demo assessed 2025");

        // A November stay, and the October stay the demo deducted 25 yuan from reversed: the
        // reversal is carried into November and the deduction given back with it.
        let all: Vec<i64> = (1..=300).collect();
        let person = yibao_demo::settleable(s, &all, day("2026-11-01"), 1).await.unwrap()[0];
        let bed = ("1", "001102000010000", "3", "40.00", "120.00");
        let operation = ("4", "003113000010000", "1", "4800.00", "4800.00");
        settled(s, person, "2026-11-05", "ZY-R-1", &[bed, operation]).await;
        let taken = october.statement.deductions[0].clone();
        let reversed = taken.setl_id.clone().unwrap();
        write(s, "system", async |w| s.reverse_settlement(w, central.id, &reversed, "").await).await.unwrap();

        // November's clearing pays the release with what it owes; the rest is forfeited.
        let nov =
            write(s, "system", async |w| s.apply_for_clearing(w, central.id, day("2026-11-01"), None, january).await)
                .await
                .unwrap();
        let st = &nov.statement;
        assert_eq!(st.carried, 1, "{l}");
        let back: Vec<(i64, Fen)> =
            st.deductions.iter().filter(|d| d.amount.is_negative()).map(|d| (d.finding, d.amount)).collect();
        assert_eq!(back, [(taken.finding, Fen::ZERO.saturating_sub(taken.amount))], "{l}: given back once");
        assert_eq!(st.releases.len(), 1, "{l}");
        let release = &st.releases[0];
        assert_eq!((release.year, release.held), (2026, held), "{l}");
        assert_eq!(release.released, yibao_core::Ratio::from_bp(8_000).unwrap().of(held), "{l}");
        assert_eq!(release.released.saturating_add(release.forfeited), held, "{l}: to the fen");
        assert_eq!(st.net.fen(), st.gross.fen() - st.deducted.fen() - st.deposit.fen() + release.released.fen(), "{l}");
        // Withdrawn, the release is free again; applied again, the same statement.
        write(s, "system", async |w| s.cancel_clearing(w, nov.id, central.id).await).await.unwrap();
        assert!(s.clearing(october.id).await.is_ok());
        let nov =
            write(s, "system", async |w| s.apply_for_clearing(w, central.id, day("2026-11-01"), None, january).await)
                .await
                .unwrap();
        assert_eq!((&nov.statement.releases, &nov.statement.deductions), (&st.releases, &st.deductions), "{l}");
        let reviewed = write(s, "auditor", async |w| s.review_clearing(w, nov.id, nov.version).await).await.unwrap();
        let (_, order) =
            write(s, "finance", async |w| s.approve_clearing(w, reviewed.id, reviewed.version, january).await)
                .await
                .unwrap();
        assert_eq!(order.unwrap().amount, nov.statement.net, "{l}");
        let (released, forfeited) = (
            db.number(&format!(
                "SELECT CAST(SUM(released) AS BIGINT) FROM clearing_funds WHERE clearing_id = {}",
                nov.id
            ))
            .await,
            db.number(&format!(
                "SELECT CAST(SUM(forfeited) AS BIGINT) FROM clearing_funds WHERE clearing_id = {}",
                nov.id
            ))
            .await,
        );
        assert_eq!(
            (released, forfeited),
            (release.released.fen(), release.forfeited.fen()),
            "{l}: by fund, to the fen"
        );
        // Released once: December's clearing releases only what November (of 2026, approved
        // after the assessment) held, at the same share.
        let dec = s.preview_clearing(central.id, day("2026-12-01"), january).await.unwrap();
        let held_since: Vec<Fen> = dec.statement.releases.iter().map(|r| r.held).collect();
        assert_eq!(held_since, [nov.statement.deposit], "{l}");
        assert!(dec.statement.deductions.iter().all(|d| d.finding != taken.finding), "{l}: given back once");
        let books = s.verify_books().await.unwrap();
        assert!(books.clean(), "{l}: {:#?}", books.differences);
        db.cleanup().await;
    }
}
