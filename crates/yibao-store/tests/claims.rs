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

/// A reviewer admits a drug outside the catalog as necessary for an emergency rescue: the claim
/// is adjudicated again and the line paid as the policy says; only on an emergency claim, only
/// outside the catalog, with a comment; the report counts it under the reviewer.
#[tokio::test]
async fn a_reviewer_admits_a_rescue_drug_outside_the_catalog() {
    use yibao_core::document::DocumentKind as D;
    use yibao_core::sporadic::{ClaimCase, RescueReason};
    use yibao_store::testing::{actor_of, refusal_code};
    for db in yibao_store::testing::TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        yibao_demo::seed_demo(s, &db.blobs(), today).await.unwrap();
        let lines = [("002201000010000", "1", "25.00", "25.00"), ("XZ00000000", "2", "300.00", "600.00")];
        let ended = today - chrono::Duration::days(4);
        let mut input = yibao_demo::lanzhou_claim(1, ClaimCase::LocalEmergency, "JC-120-0001", ended, &lines).unwrap();
        input.institution_code = "H62030299999".into();
        input.institution_name = "金昌市某诊所（非定点）".into();
        input.treatment_region = "620302".parse().unwrap();
        let (clerk, reviewer) = (actor_of(s, "clerk").await, actor_of(s, "reviewer").await);
        let mut w = s.begin_write(&clerk).await.unwrap();
        let c = s.submit_claim(&mut w, &input, today).await.unwrap();
        for kind in
            [D::IdCard, D::SocialSecurityCard, D::Invoice, D::EmergencyRecord, D::ItemisedList, D::MedicalRecords]
        {
            s.attach_claim_document(&mut w, &db.blobs(), c.id, kind, "a.png", yibao_demo::DEMO_SCAN_PNG.to_vec())
                .await
                .unwrap();
        }
        let rules = s.rules().await.unwrap();
        s.accept_claim(&mut w, &rules, c.id, today).await.unwrap();
        w.commit().await.unwrap();
        let before = s.claim(c.id).await.unwrap();
        // The demo's reviewer admitted one line already (its rescue claim).
        let scope = yibao_core::Scope::parse_list("620300").unwrap();
        let demo = s.rescue_admissions(&scope).await.unwrap();
        assert_eq!(demo, [(reviewer.label.clone(), 1, 1, yibao_core::Fen::from_yuan(600))], "{l}");
        let mut w = s.begin_write(&reviewer).await.unwrap();
        s.take_claim(&mut w, c.id).await.unwrap();
        let drug = Some(RescueReason::DrugForRescue);
        assert_eq!(
            refusal_code(s.admit_claim_line_for_rescue(&mut w, &rules, c.id, 2, drug, " ").await),
            "required",
            "{l}"
        );
        let r = s.admit_claim_line_for_rescue(&mut w, &rules, c.id, 1, drug, "抢救用").await;
        assert_eq!(refusal_code(r), "in_catalog", "{l}");
        let after =
            s.admit_claim_line_for_rescue(&mut w, &rules, c.id, 2, drug, "过敏性休克抢救，目录内无替代").await.unwrap();
        w.commit().await.unwrap();
        let line = &after.statement.as_ref().unwrap().lines[1];
        assert!(line.category.is_some() && line.fulamt_ownpay_amt == yibao_core::Fen::ZERO, "{l}: {line:?}");
        assert!(line.why.iter().any(|w| w.zh.contains("急救抢救")), "{l}: {:?}", line.why);
        assert!(after.fund_pay_sumamt > before.fund_pay_sumamt, "{l}");
        assert_eq!(after.lines[1].rescue_reason, drug, "{l}");
        let report = s.rescue_admissions(&yibao_core::Scope::parse_list("620300").unwrap()).await.unwrap();
        assert_eq!(report, [(reviewer.label.clone(), 2, 2, yibao_core::Fen::from_yuan(1_200))], "{l}");
        // Not on a claim of ordinary care.
        let ordinary = s
            .claims_in(
                &yibao_core::Scope::parse_list("620300").unwrap(),
                &[yibao_core::sporadic::ClaimState::Adjudicated],
                50,
            )
            .await
            .unwrap();
        let other = ordinary.iter().find(|x| x.id != c.id).unwrap();
        let mut w = s.begin_write(&reviewer).await.unwrap();
        s.take_claim(&mut w, other.id).await.unwrap();
        let r = s.admit_claim_line_for_rescue(&mut w, &rules, other.id, 1, drug, "抢救").await;
        assert_eq!(refusal_code(r), "not_emergency", "{l}");
        drop(w);
        db.cleanup().await;
    }
}

/// The staff's list against a brute-force reading of the same claims: every filter, every
/// sort, paged three at a time, finds exactly the claims it should, each once and in order;
/// the counts by state agree; another region's scope finds none.
#[tokio::test]
async fn the_claim_list_pages_filters_and_counts_like_a_brute_force_reading() {
    use yibao_core::sporadic::ClaimState;
    use yibao_core::{Fen, Scope};
    use yibao_store::{ClaimFilter, ClaimSort, ClaimSummary};
    for db in TestDb::all().await {
        let l = db.label;
        let s = &db.store;
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let scope = Scope::parse_list("620300").unwrap();
        // Brute force: every claim, read one by one through the persons of the region.
        let mut all: Vec<ClaimSummary> = Vec::new();
        let mut after = None;
        loop {
            let q = PersonQuery { scope: Some(scope.clone()), after: after.clone(), limit: 100, ..Default::default() };
            let page = s.search_persons(&q).await.unwrap();
            for p in &page.items {
                all.extend(s.claims_of(p.id).await.unwrap());
            }
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        assert!(all.len() > 10, "{l}: the demo has claims enough: {}", all.len());
        let threshold = Fen::from_yuan(1_000);
        type Keep = Box<dyn Fn(&ClaimSummary) -> bool>;
        let filters: Vec<(&str, ClaimFilter, Keep)> = vec![
            ("all", ClaimFilter::default(), Box::new(|_| true)),
            (
                "adjudicated",
                ClaimFilter { states: vec![ClaimState::Adjudicated], ..Default::default() },
                Box::new(|c| c.state == ClaimState::Adjudicated),
            ),
            (
                "off-site inpatient",
                ClaimFilter { case: Some(ClaimCase::OffsiteInpatient), ..Default::default() },
                Box::new(|c| c.case == ClaimCase::OffsiteInpatient),
            ),
            (
                "at least 1,000 yuan",
                ClaimFilter { min: Some(threshold), ..Default::default() },
                Box::new(move |c| c.medfee_sumamt >= threshold),
            ),
            (
                "at most 1,000 yuan",
                ClaimFilter { max: Some(threshold), ..Default::default() },
                Box::new(move |c| c.medfee_sumamt <= threshold),
            ),
        ];
        for (name, base, keep) in &filters {
            let mut want: Vec<&ClaimSummary> = all.iter().filter(|c| keep(c)).collect();
            for sort in ClaimSort::ALL {
                match sort {
                    ClaimSort::Oldest => want.sort_by_key(|c| c.id),
                    ClaimSort::Newest => want.sort_by_key(|c| std::cmp::Reverse(c.id)),
                    ClaimSort::Amount => want.sort_by_key(|c| std::cmp::Reverse((c.medfee_sumamt, c.id))),
                }
                let mut got = Vec::new();
                let mut f = ClaimFilter { scope: scope.clone(), sort, ..base.clone() };
                loop {
                    let page = s.list_claims(&f, 3).await.unwrap();
                    assert!(page.items.len() <= 3);
                    got.extend(page.items.iter().map(|c| c.id));
                    match page.next {
                        Some(n) => f.after = Some(n),
                        None => break,
                    }
                }
                let want_ids: Vec<i64> = want.iter().map(|c| c.id).collect();
                assert_eq!(got, want_ids, "{l}: {name}, {sort:?}");
            }
            // The counts by state, the filter's own states aside.
            let counted = s.count_claims_by_state(&ClaimFilter { scope: scope.clone(), ..base.clone() }).await.unwrap();
            for state in ClaimState::ALL {
                let n = counted.iter().find(|(st, _)| st == state).map_or(0, |(_, n)| *n);
                let brute = all
                    .iter()
                    .filter(|c| c.state == *state)
                    .filter(|c| base.case.is_none_or(|k| c.case == k))
                    .filter(|c| base.min.is_none_or(|m| c.medfee_sumamt >= m))
                    .filter(|c| base.max.is_none_or(|m| c.medfee_sumamt <= m))
                    .count() as i64;
                assert_eq!(n, brute, "{l}: {name}: {state:?}");
            }
        }
        // Received today (China time), and a day long ago.
        let when = |from, to| ClaimFilter { scope: scope.clone(), from, to, ..Default::default() };
        let days: Vec<chrono::NaiveDate> =
            all.iter().filter_map(|c| yibao_core::calendar::china_day_of(&c.submitted_at)).collect();
        let day = days[0];
        let on_day = s.list_claims(&when(Some(day), Some(day)), 200).await.unwrap().items.len();
        assert_eq!(on_day, days.iter().filter(|d| **d == day).count(), "{l}");
        let long_ago = chrono::NaiveDate::from_ymd_opt(2001, 1, 1);
        assert!(s.list_claims(&when(long_ago, long_ago), 200).await.unwrap().items.is_empty(), "{l}");
        // Another region's scope finds nothing; a bad cursor is refused.
        let beijing = ClaimFilter { scope: Scope::parse_list("110000").unwrap(), ..Default::default() };
        assert!(s.list_claims(&beijing, 200).await.unwrap().items.is_empty(), "{l}");
        assert!(s.count_claims_by_state(&beijing).await.unwrap().is_empty(), "{l}");
        let bad = ClaimFilter {
            scope: scope.clone(),
            sort: ClaimSort::Amount,
            after: Some("x".into()),
            ..Default::default()
        };
        assert!(matches!(s.list_claims(&bad, 5).await, Err(StoreError::Invalid(_))), "{l}");
        db.cleanup().await;
    }
}
