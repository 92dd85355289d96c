//! The README's first command seeds the demo on whatever day it runs: the demo (whose
//! policies are of 2026) seeds on other days of 2026 too — the first of a month, mid-month,
//! mid-year, its last month — with its books balanced. The days are in the past: receipts are
//! checked against the clock. (January is not among them: the demo's claims of last December
//! have no 2025 policy to be adjudicated under.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use yibao_store::testing::TestDb;

#[tokio::test]
async fn the_demo_seeds_on_other_days_of_the_year_with_its_books_balanced() {
    for day in ["2026-02-16", "2026-03-01", "2026-06-30", "2026-12-01"] {
        let db = TestDb::sqlite().await;
        let today = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
        if let Err(e) = yibao_demo::seed_demo(&db.store, &db.blobs(), today).await {
            panic!("the demo does not seed on {day}: {e}");
        }
        let books = db.store.verify_books().await.unwrap();
        assert!(books.clean(), "{day}: {:#?}", books.differences);
        db.cleanup().await;
    }
}
