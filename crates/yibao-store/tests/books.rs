//! The fund's books on SQLite and (where reachable) PostgreSQL: the demo's every event posted
//! and in agreement with the records; a posting never edited; a lopsided or missing entry
//! named by `verify_books`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use yibao_core::books::{Account, Fund};
use yibao_core::Fen;
use yibao_store::testing::TestDb;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

#[tokio::test]
async fn the_demos_books_balance_and_agree_with_its_records_and_tampering_is_named() {
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let check = s.verify_books().await.unwrap();
        assert!(check.clean(), "{l}: {:#?}", check.differences);
        let balance = |fund: &str, account: Account| {
            let fund = Fund::parse(fund).unwrap();
            check.balances.iter().find(|(f, a, _)| *f == fund && *a == account).map(|b| b.2).unwrap_or(Fen::ZERO)
        };
        // Every kind of event is in: contributions, benefits of both schemes, the accounts,
        // a clearing's deduction and deposit, payments out of the bank.
        assert!(balance("620300-310", Account::Contributions).is_negative(), "{l}");
        assert!(balance("620300-390", Account::Contributions).is_negative(), "{l}");
        assert!(balance("620300-310", Account::Benefits).is_positive(), "{l}");
        assert!(balance("620300-310", Account::PersonalAccounts).is_negative(), "{l}");
        assert!(balance("620300-310", Account::AccountCredits).is_positive(), "{l}");
        let recovered =
            balance("620300-310", Account::Recovered).saturating_add(balance("620300-390", Account::Recovered));
        assert_eq!(recovered, Fen::from_yuan(-25), "{l}");
        assert!(balance("620300-310", Account::DepositsHeld).is_negative(), "{l}");
        assert!(check.entries > 100, "{l}: {}", check.entries);

        // A posting is never edited.
        let edited = s.execute_raw("UPDATE fund_postings SET amount = amount + 1 WHERE id = 1").await;
        assert!(edited.is_err(), "{l}: {edited:?}");
        let deleted = s.execute_raw("DELETE FROM fund_postings WHERE id = 1").await;
        assert!(deleted.is_err(), "{l}: {deleted:?}");
        // A business change without its entry, and an entry without its other half: each named.
        s.execute_raw("UPDATE individual_accounts SET balance = balance + 100 WHERE person_id = 1").await.unwrap();
        s.execute_raw(
            "INSERT INTO fund_postings (event, reference, fund, account, amount, month, posted_at) \
             VALUES ('forged', 'X1', '620300-390', 'bank', 500, '2026-11', '2026-11-23T00:00:00Z')",
        )
        .await
        .unwrap();
        let check = s.verify_books().await.unwrap();
        let text: Vec<&str> = check.differences.iter().map(|d| d.en.as_str()).collect();
        assert!(text.iter().any(|d| d.contains("entry forged X1") && d.contains("off by 5.00")), "{l}: {text:?}");
        assert!(text.iter().any(|d| d.contains("debits and credits differ by 5.00")), "{l}: {text:?}");
        assert!(text.iter().any(|d| d.contains("individual accounts held: the books hold")), "{l}: {text:?}");
        db.cleanup().await;
    }
}
