use chrono::NaiveDate;

use super::*;
use DocumentKind as D;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Every case of the seeds: what must be brought (each inner list is one item, any of
/// whose documents will do), and the deadline for care that ended on 2026-10-31 (one month
/// runs to the month's end; a referral to the year's).
#[test]
fn each_case_has_its_checklist_and_deadline() {
    let rules = ClaimRules::default_rules().unwrap();
    let offsite_proof = vec![D::FilingForm, D::ReferralCertificate, D::ResidencePermit, D::ResidenceCertificate];
    let table: Vec<(ClaimCase, Vec<Vec<D>>, &str)> = vec![
        (
            ClaimCase::LocalEmergency,
            vec![
                vec![D::IdCard],
                vec![D::SocialSecurityCard],
                vec![D::Invoice],
                vec![D::EmergencyRecord],
                vec![D::ItemisedList],
                vec![D::MedicalRecords],
            ],
            "2026-11-30",
        ),
        (
            ClaimCase::CardLostOrDamaged,
            vec![
                vec![D::IdCard],
                vec![D::CardNotice],
                vec![D::Invoice],
                vec![D::ItemisedList],
                vec![D::DischargeSummary, D::DiagnosisCertificate],
            ],
            "2026-11-30",
        ),
        (
            ClaimCase::OffsiteOutpatient,
            vec![
                vec![D::IdCard],
                vec![D::SocialSecurityCard],
                vec![D::Invoice],
                vec![D::MedicalRecords],
                offsite_proof.clone(),
            ],
            "2026-11-30",
        ),
        (
            ClaimCase::OffsiteInpatient,
            vec![
                vec![D::IdCard],
                vec![D::SocialSecurityCard],
                vec![D::Invoice],
                vec![D::ItemisedList],
                vec![D::DischargeSummary],
                offsite_proof,
            ],
            "2026-11-30",
        ),
        (
            ClaimCase::Referral,
            vec![
                vec![D::IdCard],
                vec![D::SocialSecurityCard],
                vec![D::Invoice],
                vec![D::ItemisedList],
                vec![D::DischargeSummary],
                vec![D::ReferralCertificate],
                vec![D::MedicalRecords],
            ],
            "2026-12-31",
        ),
        (
            ClaimCase::SpecialIllness,
            vec![
                vec![D::IdCard],
                vec![D::SocialSecurityCard],
                vec![D::Invoice],
                vec![D::DiagnosisCertificate],
                vec![D::ExaminationReports],
                vec![D::SpecialIllnessApproval],
            ],
            "2026-11-30",
        ),
        (
            ClaimCase::RadioChemotherapy,
            vec![
                vec![D::IdCard],
                vec![D::SocialSecurityCard],
                vec![D::Invoice],
                vec![D::DiagnosisCertificate],
                vec![D::ItemisedList],
            ],
            "2026-11-30",
        ),
        (
            ClaimCase::TravelIllness,
            vec![
                vec![D::GuarantorCertificate],
                vec![D::SocialSecurityCard],
                vec![D::DischargeSummary, D::DiagnosisCertificate],
                vec![D::ItemisedList],
                vec![D::Invoice],
                vec![D::MedicalRecords],
            ],
            "2026-11-30",
        ),
    ];
    assert_eq!(table.len(), ClaimCase::ALL.len(), "every case is in the table");
    for (case, required, due) in table {
        let got: Vec<Vec<D>> = rules.missing(case, Submitter::Employer, &[]).iter().map(|i| i.any_of.clone()).collect();
        assert_eq!(got, required, "{case:?}: the required items");
        // One document of each item satisfies the checklist; leaving any one out names it.
        let one_each: Vec<D> = required.iter().map(|i| i[i.len() - 1]).collect();
        assert!(rules.missing(case, Submitter::Employer, &one_each).is_empty(), "{case:?}");
        for left_out in 0..one_each.len() {
            let mut provided = one_each.clone();
            provided.remove(left_out);
            let missing = rules.missing(case, Submitter::Employer, &provided);
            assert_eq!(missing.len(), 1, "{case:?} without {:?}", one_each[left_out]);
            assert_eq!(missing[0].any_of, required[left_out]);
        }
        // A delegate brings their own ID as well.
        let delegate = rules.missing(case, Submitter::Delegate, &one_each);
        assert_eq!(delegate.iter().map(|i| i.any_of.clone()).collect::<Vec<_>>(), vec![vec![D::DelegateId]]);
        // The deadline: on time on its last day, late the day after, with the rule named.
        let rule = rules.case(case).deadline;
        assert_eq!(rule.due(day("2026-10-31")), day(due), "{case:?}");
        assert_eq!(rule.check(day("2026-10-31"), day(due)), Ok(day(due)));
        let late = rule.check(day("2026-10-31"), day(due).succ_opt().unwrap()).unwrap_err();
        assert_eq!(late.code, "late");
        assert!(late.message.zh.contains(due) && late.message.zh.contains(&rule.describe().zh), "{}", late.message.zh);
    }
}

#[test]
fn only_the_employer_unit_files_serious_illness_while_travelling() {
    let rules = ClaimRules::default_rules().unwrap();
    for &s in Submitter::ALL {
        assert_eq!(rules.check_submitter(ClaimCase::TravelIllness, s).is_ok(), s == Submitter::Employer, "{s:?}");
        assert!(rules.check_submitter(ClaimCase::OffsiteInpatient, s).is_ok());
    }
}

#[test]
fn a_months_deadline_keeps_to_the_calendar() {
    let one = DeadlineRule::MonthsAfterCare { months: 1 };
    assert_eq!(one.due(day("2026-01-31")), day("2026-02-28"));
    assert_eq!(one.due(day("2028-01-31")), day("2028-02-29"));
    assert_eq!(one.due(day("2026-12-15")), day("2027-01-15"));
    assert_eq!(DeadlineRule::MonthsAfterCare { months: 3 }.due(day("2026-11-30")), day("2027-02-28"));
    assert_eq!(DeadlineRule::YearEnd.due(day("2026-01-01")), day("2026-12-31"));
}

#[test]
fn rules_without_every_case_or_with_an_empty_item_are_refused() {
    let mut doc: serde_json::Value = serde_json::from_str(DEFAULT_RULES_JSON).unwrap();
    doc["cases"].as_object_mut().unwrap().remove("referral");
    assert_eq!(ClaimRules::from_json(&doc.to_string()).unwrap_err().code, "missing_case");
    let mut doc: serde_json::Value = serde_json::from_str(DEFAULT_RULES_JSON).unwrap();
    doc["cases"]["referral"]["documents"][0]["any_of"] = serde_json::json!([]);
    assert_eq!(ClaimRules::from_json(&doc.to_string()).unwrap_err().code, "empty_item");
    let mut doc: serde_json::Value = serde_json::from_str(DEFAULT_RULES_JSON).unwrap();
    doc["cases"]["referral"]["deadline"] = serde_json::json!({"kind": "months_after_care", "months": 0});
    assert_eq!(ClaimRules::from_json(&doc.to_string()).unwrap_err().code, "deadline");
    let mut doc: serde_json::Value = serde_json::from_str(DEFAULT_RULES_JSON).unwrap();
    doc["cases"]["referral"]["documents"][0]["any_of"] = serde_json::json!(["passport"]);
    assert_eq!(ClaimRules::from_json(&doc.to_string()).unwrap_err().code, "format");
}

#[test]
fn the_state_machine_allows_exactly_the_documented_steps() {
    use ClaimAction as A;
    use ClaimState as S;
    let approve = Verdict::Approve;
    let steps = [
        A::Accept,
        A::Return,
        A::Resubmit,
        A::TakeForReview,
        A::Decide { verdict: approve, second: true },
        A::Decide { verdict: approve, second: false },
        A::Decide { verdict: Verdict::Reject, second: false },
        A::Confirm { verdict: approve },
        A::Confirm { verdict: Verdict::Reduce },
        A::SendBack,
        A::Withdraw,
    ];
    let mut allowed = Vec::new();
    for &s in S::ALL {
        for a in steps {
            if let Ok(next) = s.after(a) {
                allowed.push((s, a, next));
            }
        }
    }
    let expected = vec![
        (S::Submitted, A::Accept, S::Adjudicated),
        (S::Submitted, A::Return, S::Returned),
        (S::Submitted, A::Withdraw, S::Withdrawn),
        (S::Returned, A::Resubmit, S::Submitted),
        (S::Returned, A::Withdraw, S::Withdrawn),
        (S::Adjudicated, A::TakeForReview, S::InReview),
        (S::Adjudicated, A::Withdraw, S::Withdrawn),
        (S::InReview, A::Decide { verdict: approve, second: true }, S::SecondReview),
        (S::InReview, A::Decide { verdict: approve, second: false }, S::Approved),
        (S::InReview, A::Decide { verdict: Verdict::Reject, second: false }, S::Rejected),
        (S::InReview, A::Withdraw, S::Withdrawn),
        (S::SecondReview, A::Confirm { verdict: approve }, S::Approved),
        (S::SecondReview, A::Confirm { verdict: Verdict::Reduce }, S::Reduced),
        (S::SecondReview, A::SendBack, S::InReview),
        (S::SecondReview, A::Withdraw, S::Withdrawn),
    ];
    assert_eq!(allowed, expected);
    let refused = S::Approved.after(A::Withdraw).unwrap_err();
    assert_eq!(refused.code, "transition");
    assert!(refused.message.zh.contains("审核通过"));
}

/// Every line's fund share adds up to what the funds paid, every line's split to its
/// amount, and every step of the engine is on the statement once: on a line or the claim.
#[test]
fn the_statement_explains_every_yuan_of_every_line() {
    use crate::adjudicate::synthetic;
    let (policies, catalogs, claims) = synthetic::workload(150, 400, synthetic::Mix::Skewed, 11);
    let mut checked = 0;
    for (seed, claim) in claims.iter().enumerate() {
        let Ok(outcome) = crate::adjudicate::adjudicate(claim, &policies, &catalogs, &Default::default()) else {
            continue;
        };
        let s = Statement::new(&outcome);
        assert_eq!(s.lines.len(), claim.feedetail.len(), "seed {seed}");
        let fund: i64 = s.lines.iter().map(|l| l.fund_pay.fen()).sum();
        assert_eq!(fund, s.fund_pay_sumamt.fen(), "seed {seed}: lines' fund shares");
        let person: i64 = s.lines.iter().map(|l| l.person_pays.fen()).sum();
        assert_eq!(person, s.psn_pay.fen(), "seed {seed}: lines' person shares");
        assert_eq!(s.fund_pay_sumamt.fen() + s.psn_pay.fen(), s.medfee_sumamt.fen(), "seed {seed}");
        for l in &s.lines {
            let split =
                l.fulamt_ownpay_amt.fen() + l.overlmt_selfpay.fen() + l.preselfpay_amt.fen() + l.inscp_scp_amt.fen();
            assert_eq!(split, l.amount.fen(), "seed {seed} line {}", l.seq);
            assert!(!l.why.is_empty(), "seed {seed} line {} has no reason", l.seq);
        }
        let steps: usize = s.lines.iter().map(|l| l.why.len()).sum::<usize>() + s.steps.len();
        assert_eq!(steps, outcome.trace.len(), "seed {seed}");
        let funded: i64 = s.funds.iter().map(|r| r.amount.fen()).sum();
        assert_eq!(funded, s.fund_pay_sumamt.fen() + s.acct_pay.fen(), "seed {seed}");
        checked += 1;
    }
    assert!(checked > 100, "only {checked} synthetic claims adjudicated");
}

#[test]
fn a_line_the_reviewer_excludes_is_paid_by_the_person_and_says_why() {
    use crate::adjudicate::synthetic;
    let (policies, catalogs, claims) = synthetic::workload(40, 400, synthetic::Mix::Skewed, 3);
    let ytd = Default::default();
    let (claim, before) = claims
        .iter()
        .find_map(|c| {
            let o = crate::adjudicate::adjudicate(c, &policies, &catalogs, &ytd).ok()?;
            (o.lines[0].inscp_scp_amt > Fen::ZERO).then(|| (c.clone(), o))
        })
        .expect("a claim whose first line is in scope");
    let mut excluded = claim.clone();
    excluded.feedetail[0].reviewer_excluded = true;
    let after = crate::adjudicate::adjudicate(&excluded, &policies, &catalogs, &ytd).unwrap();
    let line = &Statement::new(&after).lines[0];
    assert_eq!(line.fulamt_ownpay_amt, line.amount);
    assert_eq!(line.fund_pay, Fen::ZERO);
    assert!(line.why[0].zh.contains("审核剔除"), "{:?}", line.why);
    assert!(after.totals.fund_pay_sumamt <= before.totals.fund_pay_sumamt);
    assert_eq!(after.totals.medfee_sumamt, before.totals.medfee_sumamt);
}

#[test]
fn a_claims_own_papers_stand_for_the_filing_it_lacks() {
    use crate::adjudicate::Filing;
    let none: &[D] = &[];
    assert_eq!(ClaimCase::Referral.evidenced_filing(none), Some(Filing::Referral));
    assert_eq!(ClaimCase::TravelIllness.evidenced_filing(none), Some(Filing::Emergency));
    assert_eq!(ClaimCase::OffsiteInpatient.evidenced_filing(none), None);
    assert_eq!(
        ClaimCase::OffsiteInpatient.evidenced_filing(&[D::ResidenceCertificate]),
        Some(Filing::LongTermResidence)
    );
    assert_eq!(ClaimCase::OffsiteOutpatient.evidenced_filing(&[D::ResidencePermit]), Some(Filing::LongTermResidence));
    assert_eq!(
        ClaimCase::OffsiteInpatient.evidenced_filing(&[D::ResidencePermit, D::ReferralCertificate]),
        Some(Filing::Referral)
    );
    assert_eq!(
        ClaimCase::OffsiteInpatient.evidenced_filing(&[D::FilingForm]),
        None,
        "a form is checked against the record"
    );
    assert_eq!(ClaimCase::CardLostOrDamaged.evidenced_filing(&[D::ResidencePermit]), None);
}

/// The downloadable statement holds every line with its amounts as on the page, and its
/// lines' fund shares add up to the fund total it states.
#[test]
fn the_downloaded_statement_adds_up_like_the_page() {
    use crate::adjudicate::synthetic;
    let (policies, catalogs, claims) = synthetic::workload(30, 400, synthetic::Mix::Skewed, 5);
    let mut checked = 0;
    for claim in &claims {
        let Ok(outcome) = crate::adjudicate::adjudicate(claim, &policies, &catalogs, &Default::default()) else {
            continue;
        };
        let s = Statement::new(&outcome);
        for lang in [Lang::Zh, Lang::En] {
            let text = s.to_csv(lang);
            let body = text.strip_prefix('\u{feff}').expect("a byte order mark for spreadsheets");
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(body.as_bytes());
            let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a readable row")).collect();
            let fund_col = 9;
            let lines: Vec<&csv::StringRecord> = rows.iter().take(s.lines.len()).collect();
            for (row, line) in lines.iter().zip(&s.lines) {
                assert_eq!(&row[0], line.seq);
                assert_eq!(row[4].parse::<Fen>().ok(), Some(line.amount));
                assert_eq!(row[fund_col].parse::<Fen>().ok(), Some(line.fund_pay));
            }
            let fund: i64 = lines.iter().map(|r| r[fund_col].parse::<Fen>().map_or(0, Fen::fen)).sum();
            let label = if lang == Lang::Zh { "基金支付合计" } else { "paid by the funds" };
            let stated = rows.iter().find(|r| &r[0] == label).map(|r| r[1].to_string());
            assert_eq!(stated, Some(s.fund_pay_sumamt.to_string()));
            assert_eq!(fund, s.fund_pay_sumamt.fen());
        }
        checked += 1;
    }
    assert!(checked > 20, "only {checked} synthetic claims adjudicated");
}

/// An item name a spreadsheet would run as a formula goes into the statement as text.
#[test]
fn item_names_a_spreadsheet_would_run_are_neutralised_in_the_statement() {
    use crate::adjudicate::synthetic;
    let (policies, catalogs, claims) = synthetic::workload(30, 400, synthetic::Mix::Skewed, 5);
    let outcome = claims
        .iter()
        .find_map(|c| crate::adjudicate::adjudicate(c, &policies, &catalogs, &Default::default()).ok())
        .expect("an adjudicated claim");
    let mut s = Statement::new(&outcome);
    s.lines[0].name = "=cmd|' /C calc'!A0".into();
    let text = s.to_csv(Lang::Zh);
    assert!(text.contains("'=cmd|' /C calc'!A0"), "{text}");
    assert!(!text.contains(",=cmd"), "{text}");
}
