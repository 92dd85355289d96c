//! Contributions on SQLite and (where reachable) PostgreSQL: the year's rules imported and
//! versioned; a unit's declaration computed to the fen, every bad line named; a payment
//! recorded only at the bill's exact total; a receipt file matched line by line, a mismatch
//! shown and never guessed; the months paid are what a person's standing follows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use yibao_core::contribution::months::{Standing, YearMonth};
use yibao_core::Fen;
use yibao_store::testing::{actor_of, refusal_code, TestDb};
use yibao_store::{Declared, StoreError};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

/// The demo's first unit's credit code (the first 17 characters and the check character).
fn unit_code() -> String {
    yibao_core::CreditCode::complete("91620300224420010").unwrap().to_string()
}

fn ym(s: &str) -> YearMonth {
    s.parse().unwrap()
}

#[tokio::test]
async fn a_unit_declares_a_month_pays_its_exact_bill_and_the_months_become_paid() {
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let jinchang = "620302".parse().unwrap();

        // The rules: the demo's, in force; a version not above it, or a broken one, refused.
        let rules = s.contribution_rules(jinchang, 2026).await.unwrap().expect("the demo's rules");
        assert_eq!((rules.version, rules.employee.employer_rate.percent()), (1, "6.5%".to_string()), "{l}");
        assert!(s.contribution_rules(jinchang, 2027).await.unwrap().is_some(), "{l}: next year's, published");
        assert!(s.contribution_rules(jinchang, 2028).await.unwrap().is_none(), "{l}");
        let mut w = s.begin_write(&actor_of(s, "policy").await).await.unwrap();
        let again = s.import_contribution_rules(&mut w, yibao_demo::DEMO_CONTRIBUTION_RULES).await;
        assert_eq!(refusal_code(again), "not_newer", "{l}");
        let county = yibao_demo::DEMO_CONTRIBUTION_RULES.replace("region = \"620300\"", "region = \"620302\"");
        assert_eq!(refusal_code(s.import_contribution_rules(&mut w, &county).await), "not_a_pool", "{l}");
        let broken = yibao_demo::DEMO_CONTRIBUTION_RULES.replace("base_floor_percent = 60", "base_floor_percent = 0");
        let e = s.import_contribution_rules(&mut w, &broken).await.unwrap_err();
        assert!(e.to_string().contains("employee.base_floor_percent"), "{l}: {e}");
        drop(w);

        // The demo's unit: January of last year to September paid, October declared and unpaid.
        let unit = s.employer_by_credit_code(&unit_code()).await.unwrap().unwrap();
        let bills = s.contribution_bills_of(unit.id).await.unwrap();
        let states: Vec<(String, &str)> = bills.iter().map(|b| (b.month.to_string(), b.state.as_str())).collect();
        assert_eq!(states.len(), 22, "{l}: {states:?}");
        assert_eq!(states[0], ("2026-10".to_string(), "declared"), "{l}");
        assert!(states[1..].iter().all(|(_, st)| *st == "paid"), "{l}");
        let arrears = s.contribution_arrears(unit.id, today()).await.unwrap();
        assert_eq!(arrears.iter().map(|b| b.month).collect::<Vec<_>>(), [ym("2026-10")], "{l}");
        let zhang = s.person(1).await.unwrap();
        let months = s.paid_months(zhang.id).await.unwrap();
        assert_eq!(months.len(), 21, "{l}");
        // 张三's wage and its parts, to the fen, summed into the bill.
        let october = s.contribution_bill(bills[0].id).await.unwrap();
        let line = october.lines.iter().find(|x| x.person_id == zhang.id).unwrap();
        let expected = rules.employee.bill(yibao_demo::demo_wage(zhang.id));
        assert_eq!(
            (line.base, line.employer_part, line.employee_part),
            (expected.base, expected.employer, expected.employee)
        );
        let sum = |f: fn(&yibao_store::BillLine) -> Fen| october.lines.iter().map(f).sum::<Fen>();
        assert_eq!(
            (october.employer_total, october.employee_total),
            (sum(|x| x.employer_part), sum(|x| x.employee_part))
        );

        // November: every bad line named, nothing stored.
        let unit_actor = actor_of(s, "unit").await;
        let stranger = s.person(2).await.unwrap();
        let mut w = s.begin_write(&unit_actor).await.unwrap();
        let bad = [
            Declared { resident_id: zhang.resident_id.clone(), wage: Fen::from_yuan(3_000) },
            Declared { resident_id: stranger.resident_id.clone(), wage: Fen::from_yuan(5_000) },
            Declared { resident_id: zhang.resident_id.clone(), wage: Fen::from_yuan(3_000) },
        ];
        let e = s.declare_contributions(&mut w, unit.id, ym("2026-11"), &bad, today()).await.unwrap_err();
        let StoreError::Problems(problems) = e else { panic!("{l}: {e}") };
        let text: Vec<&str> = problems.iter().map(|p| p.message.en.as_str()).collect();
        assert_eq!(text.len(), 2, "{l}: {text:?}");
        assert!(text[0].starts_with("line 2") && text[1].starts_with("line 3"), "{l}: {text:?}");
        let future = s.declare_contributions(&mut w, unit.id, ym("2026-12"), &bad[..1], today()).await;
        assert_eq!(refusal_code(future), "future", "{l}");
        // 张三 alone at 3,000 yuan: below the floor (4,110), billed on the floor.
        let nov = s.declare_contributions(&mut w, unit.id, ym("2026-11"), &bad[..1], today()).await.unwrap();
        assert_eq!((nov.lines[0].base, nov.total), (Fen::from_yuan(4_110), "349.35".parse().unwrap()), "{l}");
        assert!(nov.lines[0].note.as_deref().unwrap_or_default().contains("下限"), "{l}");
        // Declared again before it is paid: replaced.
        let again = [Declared { resident_id: zhang.resident_id.clone(), wage: Fen::from_yuan(8_000) }];
        let nov = s.declare_contributions(&mut w, unit.id, ym("2026-11"), &again, today()).await.unwrap();
        assert_eq!((nov.version, nov.total, nov.lines.len()), (2, Fen::from_yuan(680), 1), "{l}");
        w.commit().await.unwrap();

        // Paid: only the exact total, with a reference; once.
        let finance = actor_of(s, "finance").await;
        let mut w = s.begin_write(&finance).await.unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let short = s.record_bill_payment(&mut w, nov.id, Fen::from_yuan(600), day, "ZS1").await;
        assert_eq!(refusal_code(short), "amount_mismatch", "{l}");
        let later = NaiveDate::from_ymd_opt(2099, 1, 1).unwrap();
        let future = s.record_bill_payment(&mut w, nov.id, Fen::from_yuan(680), later, "ZS1").await;
        assert_eq!(refusal_code(future), "future", "{l}");
        let paid = s.record_bill_payment(&mut w, nov.id, Fen::from_yuan(680), day, "ZS1").await.unwrap();
        assert_eq!((paid.state.as_str(), paid.paid_on), ("paid", Some(day)), "{l}");
        assert_eq!(refusal_code(s.record_bill_payment(&mut w, nov.id, Fen::from_yuan(680), day, "ZS1").await), "paid");
        let redeclare = s.declare_contributions(&mut w, unit.id, ym("2026-11"), &again, today()).await;
        assert_eq!(refusal_code(redeclare), "paid", "{l}");
        w.commit().await.unwrap();
        let months = s.paid_months(zhang.id).await.unwrap();
        let november = months.iter().find(|m| m.month == ym("2026-11")).expect("November paid");
        assert_eq!((november.paid_on, november.source.clone()), (day, format!("bill:{}", nov.id)), "{l}");

        // A receipt file: October at its total is recorded; a wrong amount and an unknown unit
        // are shown, and change nothing.
        let code = unit_code();
        let csv = format!(
            "credit_code,month,amount,paid_on,reference\n\
             {code},2026-10,{},2026-11-21,ZS2\n\
             {code},2026-10,1.00,2026-11-21,ZS3\n\
             91620300000000000X,2026-10,10.00,2026-11-21,ZS4\n\
             {code},2026/10,10.00,2026-11-21,ZS5\n",
            october.total.to_plain()
        );
        let mut w = s.begin_write(&finance).await.unwrap();
        let found = s.import_receipts(&mut w, &csv, &|_| true).await.unwrap();
        w.commit().await.unwrap();
        let outcome: Vec<(usize, Option<i64>, bool)> =
            found.iter().map(|m| (m.line, m.bill_id, m.problem.is_some())).collect();
        assert_eq!(
            outcome,
            [(1, Some(october.id), false), (2, None, true), (3, None, true), (4, None, true)],
            "{l}: {found:?}"
        );
        assert!(found[1].problem.as_ref().unwrap().zh.contains("已于"), "{l}: the bill is paid by line 1");
        assert!(s.contribution_arrears(unit.id, today()).await.unwrap().is_empty(), "{l}");

        // What a person's standing follows.
        let standing = |day: &str| -> (NaiveDate, NaiveDate) {
            let day: NaiveDate = day.parse().unwrap();
            (day, day)
        };
        let (d1, d2, d3) = (standing("2026-11-25"), standing("2027-01-05"), standing("2028-01-05"));
        assert_eq!(s.contribution_standing(&zhang, d1.0, d1.1).await.unwrap(), Some(Standing::Paid), "{l}");
        let january = s.contribution_standing(&zhang, d2.0, d2.1).await.unwrap();
        assert_eq!(january, Some(Standing::Grace { unpaid_since: ym("2026-12") }), "{l}: within the grace");
        assert_eq!(s.contribution_standing(&zhang, d3.0, d3.1).await.unwrap(), None, "{l}: no rules for 2028");
        db.cleanup().await;
    }
}

/// Two finance users recording the same bill at once: one is recorded, the other refused,
/// and the months are paid once.
#[tokio::test]
async fn a_bill_is_paid_once_when_two_record_it_at_once() {
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let unit = s.employer_by_credit_code(&unit_code()).await.unwrap().unwrap();
        let latest = s.contribution_bills_of(unit.id).await.unwrap().remove(0);
        let october = s.contribution_bill(latest.id).await.unwrap();
        assert!(!october.lines.is_empty(), "{l}");
        let day = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let record = |who: &'static str| async move {
            let mut w = s.begin_write(&actor_of(s, who).await).await?;
            s.record_bill_payment(&mut w, october.id, october.total, day, who).await?;
            w.commit().await
        };
        let (a, b) = tokio::join!(record("finance"), record("finance2"));
        assert_eq!(usize::from(a.is_ok()) + usize::from(b.is_ok()), 1, "{l}: {a:?} {b:?}");
        let paid =
            db.number(&format!("SELECT COUNT(*) FROM contribution_months WHERE source = 'bill:{}'", october.id)).await;
        assert_eq!(paid, october.lines.len() as i64, "{l}");
        db.cleanup().await;
    }
}

/// A flexible worker's and a resident's online orders: only a verified notification at the
/// order's amount pays one, once; a notification twice, for another amount, an unknown order,
/// or a replaced order whose months another order paid, changes nothing.
#[tokio::test]
async fn an_online_order_is_paid_once_by_its_notification() {
    use yibao_core::registry::{Enrolment, PersonCategory};
    use yibao_store::testing::demo_person;
    use yibao_store::{GatewayNotice, NoticeOutcome, Purchase};
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let flexible = demo_person(s, Enrolment::FlexibleEmployment, PersonCategory::InService).await;
        let resident = demo_person(s, Enrolment::Resident, PersonCategory::ResidentAdult).await;
        let buy = Purchase::Flexible { percent: 60, months: 3 };
        let due = s.payment_due(&flexible, &buy, today()).await.unwrap();
        assert_eq!((due.months.len(), due.amount), (2, "575.40".parse().unwrap()), "{l}: November and December");
        assert_eq!(due.waits_until, None, "{l}: paid to October without a gap, no waiting");
        let zhang = s.person(1).await.unwrap();
        assert_eq!(refusal_code(s.payment_due(&zhang, &buy, today()).await), "through_unit", "{l}");

        let payer = yibao_store::Actor::system("online");
        let mut w = s.begin_write(&payer).await.unwrap();
        let first = s.create_online_order(&mut w, &flexible, &buy, "sim", today()).await.unwrap();
        let order = s.create_online_order(&mut w, &flexible, &buy, "sim", today()).await.unwrap();
        w.commit().await.unwrap();
        assert!(order.order_no.starts_with("YB20261123"), "{l}: {}", order.order_no);
        assert_eq!(s.online_order(&first.order_no).await.unwrap().state, "closed", "{l}: one page at a time");

        let notice = |id: &str, order_no: &str, amount: Fen| GatewayNotice {
            id: id.into(),
            order_no: order_no.into(),
            amount,
            txn: format!("T-{id}"),
            success: true,
        };
        let mut w = s.begin_write(&payer).await.unwrap();
        let outcomes = [
            s.process_payment_notice(&mut w, "sim", &notice("n1", &order.order_no, Fen::from_yuan(1)), today()).await,
            s.process_payment_notice(&mut w, "sim", &notice("n2", "YB-NONE", order.amount), today()).await,
            s.process_payment_notice(&mut w, "other", &notice("n3", &order.order_no, order.amount), today()).await,
            s.process_payment_notice(&mut w, "sim", &notice("n4", &order.order_no, order.amount), today()).await,
            s.process_payment_notice(&mut w, "sim", &notice("n4", &order.order_no, order.amount), today()).await,
            s.process_payment_notice(&mut w, "sim", &notice("n5", &order.order_no, order.amount), today()).await,
            s.process_payment_notice(&mut w, "sim", &notice("n6", &first.order_no, first.amount), today()).await,
        ];
        w.commit().await.unwrap();
        let outcomes: Vec<NoticeOutcome> = outcomes.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            outcomes,
            [
                NoticeOutcome::AmountMismatch,
                NoticeOutcome::UnknownOrder,
                NoticeOutcome::UnknownOrder,
                NoticeOutcome::Paid,
                NoticeOutcome::Duplicate,
                NoticeOutcome::AlreadyPaid,
                NoticeOutcome::PaidElsewhere,
            ],
            "{l}"
        );
        let months = s.paid_months(flexible.id).await.unwrap();
        let online: Vec<YearMonth> = months.iter().filter(|m| m.source == order.order_no).map(|m| m.month).collect();
        assert_eq!(online, [ym("2026-11"), ym("2026-12")], "{l}");
        assert_eq!(months.len(), 24, "{l}: January of last year to October by receipts, then these two");
        assert_eq!(s.online_order(&first.order_no).await.unwrap().state, "refund_due", "{l}: to refund, not paid");
        let demo_notices =
            db.number("SELECT COUNT(*) FROM online_payment_notices WHERE notification_id LIKE 'DEMO-%'").await;
        assert_eq!(
            db.number("SELECT COUNT(*) FROM online_payment_notices").await - demo_notices,
            6,
            "{l}: each kept once"
        );

        // A resident pays next year, in its collection period (September to December).
        let due = s.payment_due(&resident, &Purchase::Resident, today()).await.unwrap();
        assert_eq!((due.year, due.amount, due.subsidy), (Some(2027), Fen::from_yuan(400), Fen::from_yuan(700)), "{l}");
        let mut w = s.begin_write(&payer).await.unwrap();
        let order = s.create_online_order(&mut w, &resident, &Purchase::Resident, "sim", today()).await.unwrap();
        let paid = s.process_payment_notice(&mut w, "sim", &notice("r1", &order.order_no, order.amount), today()).await;
        w.commit().await.unwrap();
        assert_eq!(paid.unwrap(), NoticeOutcome::Paid, "{l}");
        assert_eq!(s.resident_paid(resident.id, 2027).await.unwrap(), Some((today(), Fen::from_yuan(400))), "{l}");
        let march = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        assert_eq!(s.contribution_standing(&resident, march, march).await.unwrap(), Some(Standing::Paid), "{l}");
        assert_eq!(due.waits_until, None, "{l}: paid in the collection period, no waiting");
        // This year was paid by the tax authority's receipt in last year's collection period.
        assert_eq!(refusal_code(s.payment_due(&resident, &Purchase::Resident, today()).await), "nothing_due", "{l}");
        let december = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(s.contribution_standing(&resident, december, december).await.unwrap(), Some(Standing::Paid), "{l}");
        let retiree = demo_person(s, Enrolment::UnitEmployee, PersonCategory::Retired).await;
        assert_eq!(s.contribution_standing(&retiree, december, december).await.unwrap(), None, "{l}: pays nothing");
        // What finance sees: this month's flexible and resident money, each unit month paid.
        let scope = yibao_core::Scope::parse_list("620300").unwrap();
        let collected = s.collection_in(&scope, 2026).await.unwrap();
        let november: Vec<(&str, i64)> =
            collected.iter().filter(|c| c.month == ym("2026-11")).map(|c| (c.kind.as_str(), c.count)).collect();
        // The demo's online worker's two months and this one's; the demo's two residents' next
        // years and this one's.
        assert_eq!(november, [("flexible", 4), ("resident", 3)], "{l}: {collected:?}");
        let unit_months: i64 = collected.iter().filter(|c| c.kind == "unit").map(|c| c.count).sum();
        assert_eq!(unit_months, 9, "{l}: January to September's bills");
        let arrears = s.arrears_in(&scope).await.unwrap();
        assert_eq!(arrears.iter().map(|b| b.month).collect::<Vec<_>>(), [ym("2026-10")], "{l}");
        assert!(s.arrears_in(&yibao_core::Scope::parse_list("110000").unwrap()).await.unwrap().is_empty(), "{l}");
        // The demo's family paid next year online.
        let family =
            db.number("SELECT COUNT(*) FROM resident_contributions WHERE year = 2027 AND source LIKE 'YB%'").await;
        assert!(family >= 3, "{l}: the demo's two and this one: {family}");
        db.cleanup().await;
    }
}

/// Cover follows payment: the demo's flexible worker who stopped paying in May is refused at
/// a hospital and for a claim, with the reason; the tax authority's receipts for June to
/// November (back-dated by the rules) restore cover, also for the claim of a day before they
/// were paid; a receipt twice, at another amount, or for a stranger records nothing.
#[tokio::test]
async fn cover_follows_payment_and_receipts_restore_it() {
    use yibao_core::cover::CoverKind;
    use yibao_core::registry::{Enrolment, PersonCategory};
    use yibao_core::sporadic::ClaimCase;
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let mut lapsed = None;
        for id in 1..=300 {
            let Ok(p) = s.person(id).await else { continue };
            if p.enrolment != Enrolment::FlexibleEmployment || p.category != PersonCategory::InService {
                continue;
            }
            if let Some(Standing::Arrears { unpaid_since }) =
                s.contribution_standing(&p, today(), today()).await.unwrap()
            {
                lapsed = Some((p, unpaid_since));
            }
        }
        let (worker, unpaid_since) = lapsed.expect("the demo's worker in arrears");
        assert_eq!(unpaid_since, ym("2026-06"), "{l}");
        let hospital = s.institution_by_code(yibao_demo::DEMO_INSTITUTION).await.unwrap();
        let cover_on = |day: NaiveDate| {
            let (worker, code) = (worker.clone(), hospital.code.clone());
            async move { s.cover_report(&worker, day, Some(&code)).await.unwrap().cover.unwrap() }
        };
        let cover = cover_on(today()).await;
        assert_eq!((&cover.kind, cover.code), (&CoverKind::Refused, "contribution_arrears"), "{l}");
        assert!(cover.reason.zh.contains("2026-06") && cover.reason.en.contains("grace"), "{l}: {:?}", cover.reason);
        assert_eq!(refusal_code(s.direct_cover(&worker, &hospital, today()).await), "contribution_arrears", "{l}");
        // In April, within what was paid, the hospital was local cover (the card is another
        // matter).
        let april = NaiveDate::from_ymd_opt(2026, 4, 10).unwrap();
        assert_eq!(cover_on(april).await.kind, CoverKind::Local, "{l}");
        // A claim for a stay in November: refused when handed in, naming the day.
        let stay = [("002201000010000", "1", "25.00", "25.00")];
        let ended = today() - chrono::Duration::days(3);
        let input =
            yibao_demo::lanzhou_claim(worker.id, ClaimCase::OffsiteOutpatient, "LZ-CF-1", ended, &stay).unwrap();
        let mut w = s.begin_write(&actor_of(s, "clerk").await).await.unwrap();
        let refused = s.submit_claim(&mut w, &input, today()).await.unwrap_err();
        drop(w);
        assert!(refused.to_string().contains(&ended.to_string()), "{l}: {refused}");
        assert_eq!(refusal_code(Err::<(), _>(refused)), "contribution_arrears", "{l}");

        // The tax authority's receipts: June to November at the lower base, one line at a wrong
        // amount, one for nobody, and June again.
        let rules = s.contribution_rules(worker.insured_region, 2026).await.unwrap().unwrap();
        let monthly = rules.flexible_bill(60).unwrap().total().to_plain();
        let rid = worker.resident_id.to_string();
        let mut csv = String::from("payer,period,amount,paid_on,reference\n");
        for m in 6..=11 {
            csv.push_str(&format!("{rid},2026-{m:02},{monthly},2026-11-22,SW-{m}\n"));
        }
        csv.push_str(&format!("{rid},2026-12,1.00,2026-11-22,SW-X\n"));
        csv.push_str("110105199001011234,2026-11,10.00,2026-11-22,SW-Y\n");
        csv.push_str(&format!("{rid},2026-06,{monthly},2026-11-22,SW-6\n"));
        let mut w = s.begin_write(&actor_of(s, "finance").await).await.unwrap();
        let found = s.import_receipts(&mut w, &csv, &|_| true).await.unwrap();
        w.commit().await.unwrap();
        let recorded: Vec<bool> = found.iter().map(|m| m.recorded()).collect();
        assert_eq!(recorded, [true, true, true, true, true, true, false, false, false], "{l}: {found:?}");
        assert!(found[6].problem.as_ref().unwrap().zh.contains("不符"), "{l}");
        assert!(found[8].problem.as_ref().unwrap().en.contains("paid already"), "{l}");
        assert!(found[..6].iter().all(|m| m.person_id == Some(worker.id)), "{l}");
        assert_eq!(s.contribution_standing(&worker, today(), today()).await.unwrap(), Some(Standing::Paid), "{l}");
        assert_eq!(cover_on(today()).await.kind, CoverKind::Local, "{l}");
        // Paid on the 22nd, back-dated: the claim of the 20th is judged with what is paid now.
        let mut w = s.begin_write(&actor_of(s, "clerk").await).await.unwrap();
        s.submit_claim(&mut w, &input, today()).await.unwrap();
        w.commit().await.unwrap();
        // A resident's year by receipt: at the category's amount only, once.
        let resident = yibao_store::testing::demo_person(s, Enrolment::Resident, PersonCategory::ResidentAdult).await;
        let mut w = s.begin_write(&actor_of(s, "finance").await).await.unwrap();
        let period = yibao_store::PersonalPeriod::Year(2026);
        let day = NaiveDate::from_ymd_opt(2025, 12, 1).unwrap();
        let again = s.record_personal_payment(&mut w, &resident, period, Fen::from_yuan(400), day, "SW-R").await;
        assert_eq!(refusal_code(again), "paid", "{l}: the demo's receipt paid it");
        let month = yibao_store::PersonalPeriod::Month(ym("2026-11"));
        let wrong = s.record_personal_payment(&mut w, &resident, month, Fen::from_yuan(400), day, "SW-R").await;
        assert_eq!(refusal_code(wrong), "not_flexible", "{l}");
        drop(w);
        db.cleanup().await;
    }
}
