//! Properties of the engine over random claims under the demo policies and catalog.

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::catalog::Catalogs;
use crate::policy::{Policy, PolicySet};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/formats/examples");

fn demo() -> (PolicySet, Catalogs) {
    let read = |f: &str| std::fs::read_to_string(format!("{EXAMPLES}/{f}")).unwrap();
    let policies = ["policy-620300-310-2026.toml", "policy-620300-390-2026.toml"]
        .iter()
        .map(|f| Policy::parse(&read(f)).unwrap())
        .collect();
    let mut catalogs = Catalogs::default();
    assert!(catalogs.import(read("catalog-demo.csv").as_bytes()).unwrap().is_empty());
    (PolicySet::new(policies), catalogs)
}

const CODES: &[&str] = &[
    "XA01ABD075A002010100483",
    "XJ01CRA045E001010101947",
    "XC09AAE066A001010101734",
    "XB01ACL092A001010104433",
    "XL01XCT077B002010100116",
    "XN02BEA001A001010101589",
    "001102000010000",
    "002302000010000",
    "003113000010000",
    "C0201010010000004711",
    "XZ00000000",
];

fn line_strategy() -> impl Strategy<Value = (usize, u32, u32)> {
    // (code, quantity in tenths, unit price in fen)
    (0..CODES.len(), 1u32..200, 1u32..5_000_000)
}

fn claim_strategy() -> impl Strategy<Value = Claim> {
    (
        prop::collection::vec(line_strategy(), 1..40),
        0usize..3,
        0usize..4,
        0usize..6,
        any::<bool>(),
        1u32..4,
        0i64..1_000_000,
        prop_oneof![Just(0i64), 0i64..1_000_000],
    )
        .prop_map(|(lines, med, who, place, acct, admission, balance, family)| {
            let (insutype, psn_type) = match who {
                0 => (Scheme::Employee, PersonCategory::InService),
                1 => (Scheme::Employee, PersonCategory::Retired),
                2 => (Scheme::Resident, PersonCategory::ResidentAdult),
                _ => (Scheme::Resident, PersonCategory::Student),
            };
            let (area, filing) = match place {
                0 | 1 => ("620302", None),
                2 => ("620102", Some(Filing::Referral)),
                3 => ("620102", Some(Filing::TemporaryOther)),
                4 => ("620102", Some(Filing::LongTermResidence)),
                _ => ("620102", None),
            };
            let date = chrono::NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
            Claim {
                mdtrt_id: "P".into(),
                insutype,
                psn_type,
                med_type: [MedType::Inpatient, MedType::SpecialOutpatient, MedType::GeneralOutpatient][med],
                insuplc_admdvs: "620302".parse().unwrap(),
                mdtrtarea_admvs: area.parse().unwrap(),
                hosp_lv: crate::registry::HospitalGrade::ALL[admission as usize % 4],
                admission_no: admission,
                offsite_filing: filing,
                receipt_date: DateText(date),
                dise_codg: vec!["I20.0".into(), "C50.9".into()],
                opsp_dise_code: Some("M03900".into()),
                acct_used_flag: acct,
                catalog_source: None,
                acct_balance: Fen::from_fen(balance),
                family_balance: Fen::from_fen(family),
                feedetail: lines
                    .into_iter()
                    .enumerate()
                    .map(|(i, (code, tenths, price))| {
                        let cnt = Decimal::new(i64::from(tenths), 1);
                        let pric = Decimal::new(i64::from(price), 2);
                        FeeLine {
                            feedetl_sn: (i + 1).to_string().into(),
                            med_list_codg: CODES[code].into(),
                            cnt,
                            pric,
                            det_item_fee_sumamt: to_fen(cnt * pric),
                            fee_ocur_time: DateText(date),
                            reviewer_excluded: false,
                            rescue_admitted: false,
                        }
                    })
                    .collect(),
            }
        })
}

fn ytd_strategy() -> impl Strategy<Value = YearToDate> {
    (0i64..40_000_000, 0i64..30_000, 0i64..300_000, 0i64..20_000_000, 0i64..45_000_000).prop_map(
        |(pool, od, op, cb, cp)| YearToDate {
            pool_paid: Fen::from_fen(pool),
            outpatient_deductible_paid: Fen::from_fen(od),
            outpatient_paid: Fen::from_fen(op),
            critical_base: Fen::from_fen(cb),
            critical_paid: Fen::from_fen(cp),
            ..YearToDate::default()
        },
    )
}

fn check_identities(o: &Outcome) -> Result<(), TestCaseError> {
    let t = &o.totals;
    let f = Fen::fen;
    prop_assert_eq!(
        f(t.medfee_sumamt),
        f(t.fulamt_ownpay_amt) + f(t.overlmt_selfpay) + f(t.preselfpay_amt) + f(t.inscp_scp_amt)
    );
    prop_assert_eq!(f(t.medfee_sumamt), f(t.fund_pay_sumamt) + f(t.psn_part_amt));
    prop_assert_eq!(f(t.psn_part_amt), f(t.acct_pay) + f(t.acct_mulaid_pay) + f(t.psn_cash_pay));
    prop_assert_eq!(f(t.fund_pay_sumamt), f(t.hifp_pay) + f(t.hifmi_pay) + f(t.hifob_pay));
    prop_assert_eq!(f(t.inscp_scp_amt), f(t.act_pay_dedc) + f(t.hifp_pay) + f(t.pool_prop_selfpay));
    for v in [
        t.act_pay_dedc,
        t.hifp_pay,
        t.pool_prop_selfpay,
        t.hifmi_pay,
        t.hifob_pay,
        t.acct_pay,
        t.acct_mulaid_pay,
        t.psn_cash_pay,
    ] {
        prop_assert!(!v.is_negative(), "{:?}", t);
    }
    // Lines add up to the totals, column by column, and each line conserves its amount.
    let sum = |g: fn(&LineOutcome) -> Fen| o.lines.iter().map(g).sum::<Fen>();
    prop_assert_eq!(sum(|l| l.fulamt_ownpay_amt), t.fulamt_ownpay_amt);
    prop_assert_eq!(sum(|l| l.overlmt_selfpay), t.overlmt_selfpay);
    prop_assert_eq!(sum(|l| l.preselfpay_amt), t.preselfpay_amt);
    prop_assert_eq!(sum(|l| l.inscp_scp_amt), t.inscp_scp_amt);
    prop_assert_eq!(sum(|l| l.act_pay_dedc), t.act_pay_dedc);
    prop_assert_eq!(sum(|l| l.hifp_pay), t.hifp_pay);
    prop_assert_eq!(sum(|l| l.critical_pay), plus(t.hifmi_pay, t.hifob_pay));
    prop_assert_eq!(sum(|l| l.acct_pay), t.acct_pay);
    prop_assert_eq!(sum(|l| l.acct_mulaid_pay), t.acct_mulaid_pay);
    prop_assert_eq!(sum(|l| l.psn_cash_pay), t.psn_cash_pay);
    for l in &o.lines {
        prop_assert!(!l.psn_cash_pay.is_negative() && !l.acct_pay.is_negative(), "{:?}", l);
        prop_assert!(!l.acct_mulaid_pay.is_negative(), "{:?}", l);
        prop_assert_eq!(
            f(l.det_item_fee_sumamt),
            f(l.hifp_pay) + f(l.critical_pay) + f(l.acct_pay) + f(l.acct_mulaid_pay) + f(l.psn_cash_pay)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn identities_hold_to_the_fen(claim in claim_strategy(), ytd in ytd_strategy()) {
        let (p, c) = demo();
        let o = adjudicate(&claim, &p, &c, &ytd).unwrap();
        check_identities(&o)?;
        // Every amount is explained: each line has at least one step, and rendering works.
        for i in 0..o.lines.len() {
            prop_assert!(o.trace.iter().any(|s| s.line == Some(i as u32)) || o.lines[i].det_item_fee_sumamt == Fen::ZERO);
        }
        let text = o.explain(Lang::Zh);
        prop_assert!(text.iter().all(|s| !s.is_empty() && !s.contains('{')), "{:?}", text);
    }

    #[test]
    fn the_same_input_gives_the_same_result(claim in claim_strategy(), ytd in ytd_strategy()) {
        let (p, c) = demo();
        let a = adjudicate(&claim, &p, &c, &ytd).unwrap();
        let b = Engine::default().run(&claim, &p, &c, &ytd).unwrap();
        prop_assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    }

    #[test]
    fn reversing_a_claim_restores_the_running_totals(claim in claim_strategy(), ytd in ytd_strategy()) {
        let (p, c) = demo();
        let o = adjudicate(&claim, &p, &c, &ytd).unwrap();
        prop_assert_eq!(o.ytd_after.minus(&o.ytd_delta), ytd);
    }

    #[test]
    fn over_a_year_the_fund_never_exceeds_its_caps(claims in prop::collection::vec(claim_strategy(), 1..12)) {
        let (p, c) = demo();
        let mut ytd = YearToDate::default();
        // One person: keep the first claim's scheme and category for all of them.
        let (scheme, category) = (claims[0].insutype, claims[0].psn_type);
        let mut paid_pool = 0i64;
        let mut paid_critical = 0i64;
        for mut claim in claims {
            claim.insutype = scheme;
            claim.psn_type = category;
            let o = adjudicate(&claim, &p, &c, &ytd).unwrap();
            if claim.med_type != MedType::GeneralOutpatient {
                paid_pool += o.totals.hifp_pay.fen();
            }
            paid_critical += o.totals.hifmi_pay.fen() + o.totals.hifob_pay.fen();
            ytd = o.ytd_after;
        }
        let policy = p.policies().iter().find(|x| x.scheme == scheme).unwrap();
        prop_assert!(paid_pool <= policy.annual_cap.fen());
        prop_assert_eq!(paid_pool, ytd.pool_paid.fen());
        prop_assert!(paid_critical <= policy.critical_illness.as_ref().unwrap().annual_cap.fen());
        if let Some(g) = &policy.outpatient.general {
            prop_assert!(ytd.outpatient_paid <= g.annual_cap);
            prop_assert!(ytd.outpatient_deductible_paid <= g.deductible);
        }
    }

    #[test]
    fn raising_a_price_never_lowers_the_persons_share(
        claim in claim_strategy(),
        ytd in ytd_strategy(),
        which in any::<prop::sample::Index>(),
        extra in 1u32..1_000_000,
    ) {
        let (p, c) = demo();
        let before = adjudicate(&claim, &p, &c, &ytd).unwrap();
        let mut dearer = claim.clone();
        let i = which.index(dearer.feedetail.len());
        let line = &mut dearer.feedetail[i];
        line.pric += Decimal::new(i64::from(extra), 2);
        line.det_item_fee_sumamt = to_fen(line.cnt * line.pric);
        let after = adjudicate(&dearer, &p, &c, &ytd).unwrap();
        prop_assert!(after.totals.psn_part_amt >= before.totals.psn_part_amt,
            "{} < {}", after.totals.psn_part_amt, before.totals.psn_part_amt);
    }
}

#[test]
fn apportioning_is_exact_and_deterministic() {
    let (mut out, mut scratch) = (Vec::new(), Vec::<u128>::new());
    apportion(Fen::from_fen(10), &[1, 1, 1], &mut out, &mut scratch);
    assert_eq!(out, [4, 3, 3], "the leftover fen goes to the earliest of equal remainders");
    apportion(Fen::from_fen(100), &[0, 50, 50], &mut out, &mut scratch);
    assert_eq!(out, [0, 50, 50]);
    apportion(Fen::ZERO, &[3, 4], &mut out, &mut scratch);
    assert_eq!(out, [0, 0]);
    apportion(Fen::from_fen(7), &[7, 0, 0], &mut out, &mut scratch);
    assert_eq!(out, [7, 0, 0]);
}

/// The reference: largest remainder in 128-bit arithmetic, written plainly.
fn apportion_reference(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if total == 0 || sum == 0 {
        return vec![0; weights.len()];
    }
    let mut out: Vec<i64> = weights.iter().map(|w| (i128::from(total) * i128::from(*w) / sum) as i64).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|i| (std::cmp::Reverse(i128::from(total) * i128::from(weights[*i]) % sum), *i));
    let left = total - out.iter().sum::<i64>();
    for i in order.into_iter().take(left as usize) {
        out[i] += 1;
    }
    out
}

proptest! {
    /// Small and huge amounts (the 64-bit fast path and the 128-bit one) agree with the
    /// plain reference and add up exactly.
    #[test]
    fn apportioning_matches_the_reference(
        weights in proptest::collection::vec(0i64..=20_000_000_000, 1..40),
        share in 0u32..=10_000,
    ) {
        let sum: i64 = weights.iter().sum();
        let total = (i128::from(sum) * i128::from(share) / 10_000) as i64;
        let (mut out, mut scratch) = (Vec::new(), Vec::<u128>::new());
        apportion(Fen::from_fen(total), &weights, &mut out, &mut scratch);
        prop_assert_eq!(out.iter().sum::<i64>(), if sum == 0 { 0 } else { total });
        prop_assert_eq!(out, apportion_reference(total, &weights));
    }

    /// Quantity × price to the fen in integer arithmetic equals the decimal computation.
    #[test]
    fn product_fen_equals_decimal_rounding(
        a in 0i64..=10_000_000_000, a_scale in 0u32..=6,
        b in 0i64..=10_000_000_000, b_scale in 0u32..=6,
    ) {
        let (a, b) = (Decimal::new(a, a_scale), Decimal::new(b, b_scale));
        prop_assert_eq!(product_fen(a, b), to_fen(a * b), "{} × {}", a, b);
    }
}

#[test]
fn the_trace_reads_in_both_languages() {
    let (p, c) = demo();
    let claim = Claim::from_json(include_str!("../../../../docs/formats/examples/claim-inpatient.json")).unwrap();
    let o = adjudicate(&claim, &p, &c, &YearToDate::default()).unwrap();
    let zh = o.explain(Lang::Zh).join("\n");
    let en = o.explain(Lang::En).join("\n");
    assert!(zh.contains("乙类药品，先行自付10%："), "{zh}");
    assert!(en.contains("Category B drug, 10% paid by the patient first: "), "{en}");
    assert!(zh.contains("起付线900.00元"), "{zh}");
}

/// A sporadic claim uses the insured region's catalogs unless it asks for the treatment
/// region's, which only a policy that allows it grants; absent a request, the policy's
/// off-site rule applies (direct settlement).
#[test]
fn a_claim_asks_for_the_treatment_catalog_only_where_the_policy_allows_it() {
    let (policies, catalogs) = demo();
    let read = |f: &str| std::fs::read_to_string(format!("{EXAMPLES}/{f}")).unwrap();
    // A resident (390) treated in Lanzhou; the resident policy does not allow the request.
    let mut claim = Claim::from_json(&read("claim-offsite-resident.json")).unwrap();
    assert_eq!(claim.catalog_source, None);
    let by_policy = adjudicate(&claim, &policies, &catalogs, &YearToDate::default()).unwrap();
    assert_eq!(by_policy.catalog_region.to_string(), "620100", "the policy's rule: the treatment region's");
    claim.catalog_source = Some(CatalogSource::Insured);
    let insured = adjudicate(&claim, &policies, &catalogs, &YearToDate::default()).unwrap();
    assert_eq!(insured.catalog_region.to_string(), "620300");
    claim.catalog_source = Some(CatalogSource::Treatment);
    let refused = adjudicate(&claim, &policies, &catalogs, &YearToDate::default()).unwrap_err();
    assert_eq!(refused.field, "catalog_source");
    assert!(refused.message.zh.contains("不允许"), "{refused:?}");
    // The same claim as an employee (310), whose policy allows it.
    claim.insutype = Scheme::Employee;
    claim.psn_type = PersonCategory::InService;
    let treatment = adjudicate(&claim, &policies, &catalogs, &YearToDate::default()).unwrap();
    assert_eq!(treatment.catalog_region.to_string(), "620100");
}

/// A line outside the catalog is paid in full by the person, unless a reviewer admits it as
/// necessary for an emergency rescue where the policy allows it: then it is paid as the
/// policy's category (the employee policy: 乙类 with 20 % first), and the trace says so. The
/// resident policy allows no such admission.
#[test]
fn a_line_admitted_for_a_rescue_is_paid_as_the_policy_says_and_only_where_it_allows() {
    let (policies, catalogs) = demo();
    let read = |f: &str| std::fs::read_to_string(format!("{EXAMPLES}/{f}")).unwrap();
    let mut claim = Claim::from_json(&read("claim-offsite-resident.json")).unwrap();
    claim.insutype = Scheme::Employee;
    claim.psn_type = PersonCategory::InService;
    claim.feedetail[0].med_list_codg = "XZ00000000".into();
    let ytd = YearToDate::default();
    let outside = adjudicate(&claim, &policies, &catalogs, &ytd).unwrap();
    let amount = outside.lines[0].det_item_fee_sumamt;
    assert_eq!(outside.lines[0].fulamt_ownpay_amt, amount, "not in the catalog: paid by the person");
    claim.feedetail[0].rescue_admitted = true;
    let admitted = adjudicate(&claim, &policies, &catalogs, &ytd).unwrap();
    let line = &admitted.lines[0];
    assert_eq!((line.category, line.fulamt_ownpay_amt), (Some(crate::catalog::Category::B), Fen::ZERO));
    assert_eq!(line.preselfpay_amt, Ratio::from_bp(2_000).unwrap().of(amount));
    assert_eq!(line.preselfpay_amt.fen() + line.inscp_scp_amt.fen(), amount.fen());
    assert!(admitted.totals.fund_pay_sumamt >= outside.totals.fund_pay_sumamt);
    assert!(admitted.trace.iter().any(|s| s.reason == Reason::RescueAdmitted && s.line == Some(0)));
    check_identities(&admitted).unwrap();
    // Excluded as well: excluded wins.
    claim.feedetail[0].reviewer_excluded = true;
    let both = adjudicate(&claim, &policies, &catalogs, &ytd).unwrap();
    assert_eq!(both.lines[0].fulamt_ownpay_amt, amount);
    // The resident policy has no rescue admission: still paid by the person.
    claim.feedetail[0].reviewer_excluded = false;
    claim.insutype = Scheme::Resident;
    claim.psn_type = PersonCategory::ResidentAdult;
    let resident = adjudicate(&claim, &policies, &catalogs, &ytd).unwrap();
    assert_eq!(resident.lines[0].fulamt_ownpay_amt, amount);
}

/// A rescue admission pays as category A or B, a self-pay-first share only for B; each
/// problem is named with its path.
#[test]
fn a_policys_rescue_admission_is_validated_with_its_path() {
    let text = std::fs::read_to_string(format!("{EXAMPLES}/policy-620300-310-2026.toml")).unwrap();
    let bad = text.replace(
        r#"emergency_rescue = { category = "B", selfpay_prop = "0.20" }"#,
        r#"emergency_rescue = { category = "C", selfpay_prop = "0.20" }"#,
    );
    assert_ne!(bad, text, "the example admits rescue lines");
    let errors = Policy::parse(&bad).unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["sporadic.emergency_rescue.category", "sporadic.emergency_rescue.selfpay_prop"]);
}

/// 门诊共济: a resident (no account of her own) with an authorised family member's account
/// has her in-scope share paid from it — the part paid by the person in full stays hers, the
/// balance caps it, the trace says so — and nothing without an authorisation, when she does
/// not ask, or where the policy allows no family use.
#[test]
fn a_family_members_account_pays_the_in_scope_share_after_the_persons_own() {
    let (policies, catalogs) = demo();
    let read = |f: &str| std::fs::read_to_string(format!("{EXAMPLES}/{f}")).unwrap();
    let mut claim = Claim::from_json(&read("claim-offsite-resident.json")).unwrap();
    claim.acct_used_flag = true;
    claim.feedetail[0].med_list_codg = "XZ00000000".into();
    let ytd = YearToDate::default();
    let alone = adjudicate(&claim, &policies, &catalogs, &ytd).unwrap();
    assert_eq!(alone.totals.acct_mulaid_pay, Fen::ZERO, "nobody authorised her");
    let in_scope =
        alone.totals.psn_part_amt.fen() - alone.totals.fulamt_ownpay_amt.fen() - alone.totals.overlmt_selfpay.fen();
    assert!(in_scope > 0 && alone.totals.fulamt_ownpay_amt > Fen::ZERO, "{:?}", alone.totals);

    claim.family_balance = Fen::from_fen(1_000_000_000);
    let aided = adjudicate(&claim, &policies, &catalogs, &ytd).unwrap();
    assert_eq!(aided.totals.acct_mulaid_pay.fen(), in_scope, "the whole in-scope share");
    assert_eq!(aided.totals.psn_cash_pay, plus(alone.totals.fulamt_ownpay_amt, alone.totals.overlmt_selfpay));
    assert_eq!(aided.totals.fund_pay_sumamt, alone.totals.fund_pay_sumamt, "the fund pays the same");
    assert_eq!(aided.lines[0].acct_mulaid_pay, Fen::ZERO, "the line outside the catalog stays hers");
    assert!(aided.trace.iter().any(|s| s.reason == Reason::FamilyAccountPay));
    check_identities(&aided).unwrap();

    claim.family_balance = Fen::from_fen(1_234);
    let short = adjudicate(&claim, &policies, &catalogs, &ytd).unwrap();
    assert_eq!(short.totals.acct_mulaid_pay, Fen::from_fen(1_234), "up to the balance");
    check_identities(&short).unwrap();

    claim.acct_used_flag = false;
    assert_eq!(adjudicate(&claim, &policies, &catalogs, &ytd).unwrap().totals.acct_mulaid_pay, Fen::ZERO);
    claim.acct_used_flag = true;
    let mut without: Vec<Policy> = policies.policies().to_vec();
    for p in &mut without {
        p.individual_account.family_pays = crate::policy::AccountUse::None;
    }
    let strict = PolicySet::new(without);
    assert_eq!(adjudicate(&claim, &strict, &catalogs, &ytd).unwrap().totals.acct_mulaid_pay, Fen::ZERO);
}
