//! Payment to bank cards on SQLite and (where reachable) PostgreSQL: orders from approved
//! claims, batches with four eyes, export and the bank's results, failure and retry, the
//! same file twice, and reconciliation to the fen.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use yibao_core::document::DocumentKind;
use yibao_core::payment::{due_date, BankFailure, BankFormat, BatchState, OrderState, Urgency};
use yibao_core::{AdminCode, Fen, Scope};
use yibao_store::testing::{actor_of, refusal_code, TestDb};
use yibao_store::{AccountGiver, Store, StoreError};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn jinchang() -> AdminCode {
    "620300".parse().unwrap()
}

async fn seeded() -> Vec<TestDb> {
    let dbs = TestDb::all().await;
    for db in &dbs {
        yibao_demo::seed_demo(&db.store, &db.blobs(), today()).await.unwrap();
    }
    dbs
}

/// Clears what the supervision rules found on a claim (the demo's stays overlap some of the
/// tests' new ones), as the reviewer in `w` would, with a reason.
async fn clear_hits(s: &Store, w: &mut yibao_store::WriteTx, claim_id: i64) {
    for hit in s.claim_hits(claim_id).await.unwrap() {
        if hit.state == yibao_store::HitState::Open {
            s.decide_hit(w, hit.id, yibao_store::HitDecision::Clear, "经核实无误").await.unwrap();
        }
    }
}

async fn orders_of(store: &Store) -> Vec<yibao_store::PaymentOrder> {
    store.payment_orders_in(&Scope::new(vec![jinchang()]), &[], 100).await.unwrap()
}

#[tokio::test]
async fn the_demo_has_a_paid_batch_and_a_claim_waiting_for_the_next() {
    for db in seeded().await {
        let s = &db.store;
        let batches = s.payment_batches_in(&Scope::new(vec![jinchang()]), 10).await.unwrap();
        assert_eq!(batches.len(), 1, "{}", db.label);
        assert_eq!(batches[0].state, BatchState::Closed);
        assert_ne!(batches[0].built_by, batches[0].approved_by.clone().unwrap(), "four eyes");
        let orders = orders_of(s).await;
        let states: Vec<OrderState> = orders.iter().map(|o| o.state).collect();
        assert!(states.contains(&OrderState::Paid) && states.contains(&OrderState::Ready), "{states:?}");
        // Last month's hospital clearings were paid in the same batch: an order per clearing,
        // for what it approved, to the hospital's corporate account. The pharmacy's waits for
        // the account it has not given.
        let clearings: Vec<_> = orders.iter().filter(|o| o.clearing_id.is_some()).collect();
        assert_eq!(clearings.len(), 3, "{}", db.label);
        for o in &clearings {
            let c = s.clearing(o.clearing_id.unwrap()).await.unwrap();
            let state = if c.institution_code == yibao_demo::DEMO_PHARMACY {
                OrderState::AwaitingAccount
            } else {
                OrderState::Paid
            };
            assert_eq!((o.amount, o.state, o.institution_id), (c.statement.net, state, Some(c.institution_id)));
        }
        for o in orders.iter().filter(|o| o.clearing_id.is_none()) {
            let claim = s.claim(o.claim_id.unwrap()).await.unwrap();
            assert_eq!(Some(o.amount), claim.fund_pay_sumamt, "an order pays what the claim approved");
            assert_eq!(o.due_on, due_date(&s.calendar().await.unwrap(), o.approved_on).unwrap().date);
            assert_eq!(o.bank_card.as_ref().unwrap().masked(), "****4563");
        }
        // Approved today: on time now, at risk three working days before it is due, then
        // overdue.
        let waiting = orders.iter().find(|o| o.state == OrderState::Ready).unwrap();
        let calendar = s.calendar().await.unwrap();
        assert_eq!(Urgency::of(&calendar, waiting.due_on, today()), Urgency::OnTime);
        let three_before = calendar.add_working_days(today(), 12).unwrap();
        assert_eq!(Urgency::of(&calendar, waiting.due_on, three_before), Urgency::AtRisk, "{three_before}");
        let after = waiting.due_on.succ_opt().unwrap();
        assert_eq!(Urgency::of(&calendar, waiting.due_on, after), Urgency::Overdue);
        let r = s.reconcile_payments().await.unwrap();
        assert!(r.balances(), "{:?}", r.differences);
        assert_eq!(r.approved, r.paid.saturating_add(r.unpaid));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn export_results_failure_and_retry_pay_each_order_exactly_once() {
    for db in seeded().await {
        let s = &db.store;
        let (finance, finance2) = (actor_of(s, "finance").await, actor_of(s, "finance2").await);
        // The demo's returned claim gets its missing papers and is approved: two orders ready.
        let rules = s.rules().await.unwrap();
        let scope = Scope::new(vec![jinchang()]);
        let returned = s.claims_in(&scope, &[yibao_core::sporadic::ClaimState::Returned], 10).await.unwrap();
        let id = returned[0].id;
        yibao_demo::complete_returned_claim(s, &db.blobs(), &rules, id, today()).await.unwrap();
        let mut w = s.begin_write(&actor_of(s, "reviewer").await).await.unwrap();
        s.take_claim(&mut w, id).await.unwrap();
        clear_hits(s, &mut w, id).await;
        s.decide_claim(&mut w, &rules, id, true, "", today()).await.unwrap();
        w.commit().await.unwrap();
        let mut w = s.begin_write(&actor_of(s, "reviewer2").await).await.unwrap();
        s.second_review_claim(&mut w, &rules, id, true, "", today()).await.unwrap();
        w.commit().await.unwrap();
        let ready: Vec<_> = orders_of(s).await.into_iter().filter(|o| o.state == OrderState::Ready).collect();
        assert_eq!(ready.len(), 2, "{}", db.label);

        let mut w = s.begin_write(&finance).await.unwrap();
        let batch = s.build_payment_batch(&mut w, jinchang(), today(), BankFormat::Csv).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!((batch.count, batch.total), (2, ready.iter().map(|o| o.amount).sum::<Fen>()));
        // Nothing left to batch; the builder cannot approve; nothing is exported unapproved.
        let mut w = s.begin_write(&finance).await.unwrap();
        assert_eq!(refusal_code(s.build_payment_batch(&mut w, jinchang(), today(), BankFormat::Csv).await), "empty");
        assert_eq!(refusal_code(s.approve_payment_batch(&mut w, batch.id).await), "four_eyes");
        assert_eq!(refusal_code(s.export_payment_batch(&mut w, batch.id).await), "transition");
        drop(w);

        let mut w = s.begin_write(&finance2).await.unwrap();
        s.approve_payment_batch(&mut w, batch.id).await.unwrap();
        let (_, file) = s.export_payment_batch(&mut w, batch.id).await.unwrap();
        w.commit().await.unwrap();
        // Exported twice: the same bytes, the orders moved once.
        let mut w = s.begin_write(&finance2).await.unwrap();
        let (again, file2) = s.export_payment_batch(&mut w, batch.id).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(file.to_csv(), file2.to_csv());
        assert_eq!((again.exports, again.state), (2, BatchState::Exported));
        let (_, items) = s.payment_batch(batch.id).await.unwrap();
        for i in &items {
            assert_eq!(s.payment_order(i.order_id).await.unwrap().state, OrderState::Exported);
        }

        // The bank pays the first and refuses the second: the name does not match.
        let (l1, l2) = (&file.lines[0], &file.lines[1]);
        let result = format!(
            "H,{},2,{}\nR,1,{},{},S,,,2026-11-25\nR,2,{},{},F,name_mismatch,户名不符,2026-11-25\n",
            file.batch_no,
            file.total().to_plain(),
            l1.order_no,
            l1.amount.to_plain(),
            l2.order_no,
            l2.amount.to_plain()
        );
        let mut w = s.begin_write(&finance).await.unwrap();
        let summary = s.import_bank_results(&mut w, result.as_bytes()).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!((summary.paid, summary.failed, summary.already, summary.closed), (1, 1, 0, true));
        // The same file again changes nothing; a file that contradicts it is refused whole.
        let mut w = s.begin_write(&finance).await.unwrap();
        let summary = s.import_bank_results(&mut w, result.as_bytes()).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!((summary.paid, summary.failed, summary.already), (0, 0, 2));
        let contradicting = result.replace("F,name_mismatch,户名不符", "S,,");
        let mut w = s.begin_write(&finance).await.unwrap();
        assert_eq!(refusal_code(s.import_bank_results(&mut w, contradicting.as_bytes()).await), "conflict");
        let wrong_amount = result.replace(&format!("R,1,{},{}", l1.order_no, l1.amount.to_plain()), "R,1,X,1.00");
        assert_eq!(refusal_code(s.import_bank_results(&mut w, wrong_amount.as_bytes()).await), "result_file");
        drop(w);
        let r = s.reconcile_payments().await.unwrap();
        assert!(r.balances(), "{:?}", r.differences);

        let failed = s.payment_order(items[1].order_id).await.unwrap();
        assert_eq!((failed.state, failed.failure), (OrderState::Failed, Some(BankFailure::NameMismatch)));
        let paid = s.payment_order(items[0].order_id).await.unwrap();
        assert_eq!((paid.state, paid.paid_on), (OrderState::Paid, NaiveDate::from_ymd_opt(2026, 11, 25)));
        // A paid order takes no new account and goes in no batch.
        let card = yibao_core::BankCardNumber::complete("622848001000000000").unwrap();
        let mut w = s.begin_write(&finance).await.unwrap();
        assert_eq!(
            refusal_code(s.give_payment_account(&mut w, paid.id, "农业银行", &card, &AccountGiver::Claimant).await),
            "transition"
        );
        drop(w);

        // The claimant corrects the account; the order goes in the next batch and is paid.
        let mut w = s.begin_write(&actor_of(s, "zhangsan").await).await.unwrap();
        let corrected = s
            .give_payment_account(&mut w, failed.id, "中国农业银行金昌分行", &card, &AccountGiver::Claimant)
            .await
            .unwrap();
        w.commit().await.unwrap();
        assert_eq!((corrected.state, corrected.attempt), (OrderState::Ready, 2));
        let mut w = s.begin_write(&finance).await.unwrap();
        let second = s.build_payment_batch(&mut w, jinchang(), today(), BankFormat::Csv).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!((second.count, second.total), (1, failed.amount));
        let mut w = s.begin_write(&finance2).await.unwrap();
        s.approve_payment_batch(&mut w, second.id).await.unwrap();
        let (_, file) = s.export_payment_batch(&mut w, second.id).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(file.lines[0].bank_card, card.to_string(), "the corrected account");
        let mut w = s.begin_write(&finance).await.unwrap();
        s.import_bank_results(&mut w, &yibao_demo::demo_bank_results(&file, today())).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(s.payment_order(failed.id).await.unwrap().state, OrderState::Paid);

        let r = s.reconcile_payments().await.unwrap();
        assert!(r.balances(), "{:?}", r.differences);
        // All paid but the demo pharmacy's clearing, waiting for its account.
        let waiting: Fen =
            orders_of(s).await.iter().filter(|o| o.state == OrderState::AwaitingAccount).map(|o| o.amount).sum();
        assert_eq!((r.paid, r.in_flight, r.unpaid), (r.approved.saturating_sub(waiting), Fen::ZERO, waiting));
        // Every step is in the audit log, and the chain holds.
        let entries = s.recent_audit_entries(Some(("payment_order", &failed.id.to_string())), 20).await.unwrap();
        let actions: Vec<&str> = entries.iter().rev().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "payment.order",
                "payment.batched",
                "payment.exported",
                "payment.failed",
                "payment.account",
                "payment.batched",
                "payment.exported",
                "payment.paid"
            ]
        );
        assert!(s.verify_audit_log().await.unwrap().first_break.is_none());

        // Reconciliation finds books that disagree.
        s.execute_raw(&format!("UPDATE payment_orders SET amount = amount + 1 WHERE id = {}", paid.id)).await.unwrap();
        let r = s.reconcile_payments().await.unwrap();
        assert!(r.differences.iter().any(|d| d.en.contains(&paid.number)), "{:?}", r.differences);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_cancelled_batch_returns_its_orders_and_a_result_needs_an_exported_batch() {
    for db in seeded().await {
        let s = &db.store;
        let mut w = s.begin_write(&actor_of(s, "finance").await).await.unwrap();
        let batch = s.build_payment_batch(&mut w, jinchang(), today(), BankFormat::Csv).await.unwrap();
        w.commit().await.unwrap();
        let (_, items) = s.payment_batch(batch.id).await.unwrap();
        // A result file for the batch's lines, as the bank would send it.
        let total: Fen = items.iter().map(|i| i.amount).sum();
        let mut results = format!("H,{},{},{}\n", batch.number, items.len(), total.to_plain());
        for i in &items {
            results.push_str(&format!("R,{},{},{},S,,,2026-11-24\n", i.seq, i.order_no, i.amount.to_plain()));
        }
        let mut w = s.begin_write(&actor_of(s, "finance").await).await.unwrap();
        assert_eq!(refusal_code(s.import_bank_results(&mut w, results.as_bytes()).await), "not_exported");
        let cancelled = s.cancel_payment_batch(&mut w, batch.id).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(cancelled.state, BatchState::Cancelled);
        assert_eq!(s.payment_order(items[0].order_id).await.unwrap().state, OrderState::Ready);
        // The order goes in a new batch with the same attempt.
        let mut w = s.begin_write(&actor_of(s, "finance").await).await.unwrap();
        let again = s.build_payment_batch(&mut w, jinchang(), today(), BankFormat::Csv).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(again.count, 1);
        assert!(s.reconcile_payments().await.unwrap().balances());
        db.cleanup().await;
    }
}

/// A claim the employer unit filed for 张三 (serious illness on a business trip) is paid to
/// the unit's registered account, as the region's rules say by default.
#[tokio::test]
async fn a_claim_the_employer_unit_filed_is_paid_to_the_units_account() {
    use yibao_store::{Payee, SubmittedBy};

    for db in seeded().await {
        let s = &db.store;
        let zhang = s.person_by_resident_id(&yibao_demo::DEMO_INSURED_ID.parse().unwrap()).await.unwrap().unwrap();
        let employer = s.employer(zhang.employer_id.unwrap()).await.unwrap();
        let order = approved_claim(&db, SubmittedBy::Employer { employer_id: employer.id }, "LZ-2026-0999").await;
        let decided = s.claim(order.claim_id.unwrap()).await.unwrap();
        assert_eq!(
            (order.payee, order.account_name.as_str()),
            (Payee::Employer, employer.name.as_str()),
            "{}",
            db.label
        );
        assert_eq!(order.bank_card, employer.bank_card);
        assert_ne!(order.bank_card, zhang.bank_card, "not the employee's card");
        assert_eq!(Some(order.amount), decided.fund_pay_sumamt);
        assert_eq!(order.state, OrderState::Ready);
        db.cleanup().await;
    }
}

/// Approves a new claim for 张三 (submitted by `by`), returning its payment order.
async fn approved_claim(db: &TestDb, by: yibao_store::SubmittedBy, invoice: &str) -> yibao_store::PaymentOrder {
    use yibao_core::filing::Channel;
    use yibao_core::sporadic::ClaimCase;
    let s = &db.store;
    let zhang = s.person_by_resident_id(&yibao_demo::DEMO_INSURED_ID.parse().unwrap()).await.unwrap().unwrap();
    let stay = [("001102000010000", "4", "40.00", "160.00"), ("003113000010000", "1", "3000.00", "3000.00")];
    let day = today() - chrono::Duration::days(10);
    let case = match by {
        yibao_store::SubmittedBy::Employer { .. } => ClaimCase::TravelIllness,
        _ => ClaimCase::OffsiteInpatient,
    };
    let input = yibao_store::ClaimInput {
        by,
        channel: Channel::Window,
        ..yibao_demo::lanzhou_claim(zhang.id, case, invoice, day, &stay).unwrap()
    };
    let rules = s.rules().await.unwrap();
    let mut w = s.begin_write(&actor_of(s, "clerk").await).await.unwrap();
    let claim = s.submit_claim(&mut w, &input, today()).await.unwrap();
    for kind in DocumentKind::ALL {
        let png = yibao_demo::DEMO_SCAN_PNG.to_vec();
        s.attach_claim_document(&mut w, &db.blobs(), claim.id, *kind, "scan.png", png).await.unwrap();
    }
    s.accept_claim(&mut w, &rules, claim.id, today()).await.unwrap();
    w.commit().await.unwrap();
    let mut w = s.begin_write(&actor_of(s, "reviewer").await).await.unwrap();
    s.take_claim(&mut w, claim.id).await.unwrap();
    clear_hits(s, &mut w, claim.id).await;
    s.decide_claim(&mut w, &rules, claim.id, true, "", today()).await.unwrap();
    w.commit().await.unwrap();
    s.payment_of_claim(claim.id).await.unwrap().expect("an order")
}

/// Nobody redirects money through the registry alone: a bank card a clerk registers on a
/// person (or an employer unit) waits for a second person, the person is told, an order made
/// meanwhile waits too and shows the card confirmed before; the clerk cannot confirm it, and
/// another clerk's confirmation confirms the order with it.
#[tokio::test]
async fn a_bank_card_a_clerk_registers_waits_for_a_second_person() {
    use yibao_store::{AccountHolder, PersonInput, SubmittedBy};
    for db in seeded().await {
        let (s, l) = (&db.store, db.label);
        let zhang = s.person_by_resident_id(&yibao_demo::DEMO_INSURED_ID.parse().unwrap()).await.unwrap().unwrap();
        let old_card = zhang.bank_card.clone().unwrap();
        let new_card = yibao_core::BankCardNumber::complete("621700001000765432").unwrap();
        let input = PersonInput {
            resident_id: zhang.resident_id.clone(),
            name: zhang.name.clone(),
            enrolment: zhang.enrolment,
            category: zhang.category,
            insured_region: zhang.insured_region,
            hukou_region: zhang.hukou_region,
            employer_id: zhang.employer_id,
            bank_name: Some("中国建设银行".into()),
            bank_card: Some(new_card.clone()),
            phone: zhang.phone.clone(),
            status: zhang.status,
            status_from: zhang.status_from,
        };
        let mut w = s.begin_write(&actor_of(s, "clerk").await).await.unwrap();
        let changed = s.update_person(&mut w, zhang.id, zhang.version, &input, "clerk").await.unwrap();
        w.commit().await.unwrap();
        let check = changed.account_check.clone().expect("waits for confirmation");
        assert_eq!((check.changed_by.as_str(), check.confirmed_bank_card.as_ref()), ("clerk", Some(&old_card)), "{l}");
        let notices = s.notices_of(zhang.id, 10).await.unwrap();
        assert!(
            notices.iter().any(|n| n.kind == "registered_account" && n.text.en.contains(&new_card.masked())),
            "{l}"
        );
        // Another clerk corrects only the bank's name: the card is still the first clerk's choice.
        let mut renamed = input.clone();
        renamed.bank_name = Some("中国建设银行金昌分行".into());
        let mut w = s.begin_write(&actor_of(s, "clerk2").await).await.unwrap();
        let changed = s.update_person(&mut w, zhang.id, changed.version, &renamed, "clerk2").await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(changed.account_check.as_ref().unwrap().changed_by, "clerk", "{l}");

        // An order made meanwhile waits, compared with the card confirmed before.
        let order = approved_claim(&db, SubmittedBy::Insured, "LZ-2026-0901").await;
        assert_eq!(order.bank_card.as_ref(), Some(&new_card), "{l}");
        assert_eq!(order.approved_bank_card.as_ref(), Some(&old_card), "{l}: the change shows in the batch");
        assert_eq!(order.account_unconfirmed_by.as_deref(), Some("clerk"), "{l}: it waits");

        // The clerk cannot confirm their own change; another clerk can, and the order with it.
        let confirm = |who: &'static str, version: i64| async move {
            let mut w = s.begin_write(&actor_of(s, who).await).await.unwrap();
            let by = AccountGiver::Staff(who.into());
            let r = s.confirm_registered_account(&mut w, AccountHolder::Person(zhang.id), version, &by).await;
            w.commit().await.unwrap();
            r
        };
        assert_eq!(refusal_code(confirm("clerk", changed.version).await), "four_eyes", "{l}");
        assert!(matches!(confirm("clerk2", changed.version - 1).await, Err(StoreError::Stale(_))), "{l}");
        confirm("clerk2", changed.version).await.unwrap();
        assert!(s.person(zhang.id).await.unwrap().account_check.is_none(), "{l}");
        let order = s.payment_order(order.id).await.unwrap();
        assert_eq!(order.account_unconfirmed_by, None, "{l}: the order is confirmed with it");

        // A second change, put back to the confirmed card by the same clerk: nothing waits.
        let mut back = renamed.clone();
        back.bank_card = Some(yibao_core::BankCardNumber::complete("621700001000111111").unwrap());
        let p = s.person(zhang.id).await.unwrap();
        let mut w = s.begin_write(&actor_of(s, "clerk").await).await.unwrap();
        let p = s.update_person(&mut w, p.id, p.version, &back, "clerk").await.unwrap();
        assert!(p.account_check.is_some(), "{l}");
        let p = s.update_person(&mut w, p.id, p.version, &renamed, "clerk").await.unwrap();
        w.commit().await.unwrap();
        assert!(p.account_check.is_none(), "{l}: the confirmed card again");

        // The employer unit's card, the same way.
        let employer = s.employer(zhang.employer_id.unwrap()).await.unwrap();
        let unit_card = yibao_core::BankCardNumber::complete("621700001000222222").unwrap();
        let unit = yibao_store::EmployerInput {
            credit_code: employer.credit_code.clone(),
            name: employer.name.clone(),
            region: employer.region,
            contact_name: employer.contact_name.clone(),
            contact_phone: employer.contact_phone.clone(),
            bank_name: employer.bank_name.clone(),
            bank_card: Some(unit_card.clone()),
        };
        let mut w = s.begin_write(&actor_of(s, "clerk").await).await.unwrap();
        let e = s.update_employer(&mut w, employer.id, employer.version, &unit, "clerk").await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(e.account_check.as_ref().unwrap().confirmed_bank_card, employer.bank_card, "{l}");
        let order = approved_claim(&db, SubmittedBy::Employer { employer_id: employer.id }, "LZ-2026-0902").await;
        assert_eq!(order.account_unconfirmed_by.as_deref(), Some("clerk"), "{l}: the unit's order waits");
        let mut w = s.begin_write(&actor_of(s, "clerk2").await).await.unwrap();
        let by = AccountGiver::Staff("clerk2".into());
        s.confirm_registered_account(&mut w, AccountHolder::Employer(employer.id), e.version, &by).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(s.payment_order(order.id).await.unwrap().account_unconfirmed_by, None, "{l}");

        // Every change and confirmation is in the log, no card in full.
        let entries = s.audit_entries_after(0, 100_000).await.unwrap();
        assert!(entries.iter().any(|e| e.action == "person.account_confirmed"), "{l}");
        assert!(entries.iter().any(|e| e.action == "employer.account_confirmed"), "{l}");
        for e in &entries {
            for card in [&new_card, &old_card, &unit_card] {
                assert!(!e.after.contains(card.as_str()), "{l}: {} holds a full card", e.action);
            }
        }
        assert_eq!(s.audit_differences().await.unwrap(), vec![], "{l}");
        db.cleanup().await;
    }
}

/// A batch for a bank that takes the fixed-width GBK file: exported in that format, the same
/// bytes twice, and its result file imported as any other.
#[tokio::test]
async fn a_fixed_width_batch_is_exported_in_gbk_byte_widths() {
    for db in seeded().await {
        let s = &db.store;
        let mut w = s.begin_write(&actor_of(s, "finance").await).await.unwrap();
        let batch = s.build_payment_batch(&mut w, jinchang(), today(), BankFormat::FixedGbk).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(batch.format, BankFormat::FixedGbk);
        let mut w = s.begin_write(&actor_of(s, "finance2").await).await.unwrap();
        s.approve_payment_batch(&mut w, batch.id).await.unwrap();
        let (_, file) = s.export_payment_batch(&mut w, batch.id).await.unwrap();
        let (_, again) = s.export_payment_batch(&mut w, batch.id).await.unwrap();
        w.commit().await.unwrap();
        let bytes = file.bytes().unwrap();
        assert_eq!(bytes, again.bytes().unwrap(), "{}", db.label);
        assert_eq!(file.file_name(), format!("{}.txt", batch.number));
        let lengths: Vec<usize> = bytes.split(|b| *b == b'\n').filter(|r| !r.is_empty()).map(<[u8]>::len).collect();
        assert_eq!(lengths, [59, 132, 25], "{}", db.label);
        let (text, _, bad) = encoding_rs::GBK.decode(&bytes);
        assert!(!bad && text.contains("张三"), "{text}");
        let mut w = s.begin_write(&actor_of(s, "finance").await).await.unwrap();
        let summary = s.import_bank_results(&mut w, &yibao_demo::demo_bank_results(&file, today())).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!((summary.paid, summary.closed), (1, true));
        assert!(s.reconcile_payments().await.unwrap().balances());
        db.cleanup().await;
    }
}
