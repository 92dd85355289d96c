//! Sporadic claims in the store, on SQLite and (where reachable) PostgreSQL: whose catalogs a
//! claim is adjudicated against.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use yibao_core::document::DocumentKind;
use yibao_core::registry::Scheme;
use yibao_core::sporadic::ClaimCase;
use yibao_demo::{lanzhou_claim, DEMO_INSURED_ID};
use yibao_store::testing::TestDb;
use yibao_store::{Actor, PersonQuery, StoreError};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

const STAY: [(&str, &str, &str, &str); 2] =
    [("001102000010000", "4", "40.00", "160.00"), ("003113000010000", "1", "3000.00", "3000.00")];

/// A claim uses the insured region's catalogs (金昌) unless it asks for the treatment region's
/// (兰州), which the employee policy allows and the resident policy does not.
#[tokio::test]
async fn a_claim_uses_the_insured_regions_catalog_unless_it_may_and_does_ask_for_the_treatment_regions() {
    for db in TestDb::all().await {
        let s = &db.store;
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let zhang = s.person_by_resident_id(&DEMO_INSURED_ID.parse().unwrap()).await.unwrap().unwrap();
        assert_eq!(zhang.scheme, Scheme::Employee);
        let rules = s.rules().await.unwrap();
        let day = today() - chrono::Duration::days(10);
        let mut regions = Vec::new();
        for (invoice, treatment_catalog) in [("LZ-T-1", false), ("LZ-T-2", true)] {
            let input = yibao_store::ClaimInput {
                treatment_catalog,
                ..lanzhou_claim(zhang.id, ClaimCase::OffsiteInpatient, invoice, day, &STAY).unwrap()
            };
            let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
            let claim = s.submit_claim(&mut w, &input, today()).await.unwrap();
            for kind in DocumentKind::ALL {
                let png = yibao_demo::DEMO_SCAN_PNG.to_vec();
                s.attach_claim_document(&mut w, &db.blobs(), claim.id, *kind, "scan.png", png).await.unwrap();
            }
            let accepted = s.accept_claim(&mut w, &rules, claim.id, today()).await.unwrap();
            w.commit().await.unwrap();
            assert_eq!(accepted.treatment_catalog, treatment_catalog);
            regions.push(accepted.statement.unwrap().catalog_region);
        }
        assert_eq!(regions, ["620300", "620100"], "{}", db.label);

        // A resident's policy does not allow the request: refused when handed in.
        let q = PersonQuery {
            scope: Some(yibao_core::Scope::parse_list("620300").unwrap()),
            limit: 100,
            ..Default::default()
        };
        let resident = s
            .search_persons(&q)
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|p| p.scheme == Scheme::Resident)
            .expect("a resident in the demo");
        let input = yibao_store::ClaimInput {
            treatment_catalog: true,
            ..lanzhou_claim(resident.id, ClaimCase::OffsiteInpatient, "LZ-T-3", day, &STAY).unwrap()
        };
        let mut w = s.begin_write(&Actor::system("test")).await.unwrap();
        match s.submit_claim(&mut w, &input, today()).await {
            Err(StoreError::Invalid(e)) => assert_eq!((e.field, e.code), ("treatment_catalog", "not_allowed")),
            other => panic!("{other:?}"),
        }
        drop(w);
        db.cleanup().await;
    }
}
