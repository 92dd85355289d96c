//! Table tests of every rule: a case that hits and the nearest case that does not.

use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn line(sn: &str, item: &str, day: &str, quantity: i64) -> VisitLine {
    VisitLine { sn: sn.into(), item: item.into(), day: d(day), quantity: Decimal::from(quantity), limits: None }
}

fn stay(id: &str, admitted: &str, discharged: &str, diagnosis: &str) -> Visit {
    Visit {
        id: id.into(),
        person_id: 1,
        sex: Sex::Male,
        birth_date: d("1985-06-12"),
        institution: "H62030200001".into(),
        inpatient: true,
        admitted: d(admitted),
        discharged: d(discharged),
        main_diagnosis: diagnosis.into(),
        lines: Vec::new(),
        invoices: Vec::new(),
    }
}

/// `visit` paid on invoice `number` of its institution.
fn invoiced(visit: Visit, number: &str) -> Visit {
    let invoice = Invoice { institution: visit.institution.clone(), number: number.into() };
    Visit { invoices: vec![invoice], ..visit }
}

/// A line on 2 March 2026 (the person is 40) whose catalog entry is for `sex`, aged at
/// least `min_age`.
fn limited(sn: &str, item: &str, sex: Option<Sex>, min_age: Option<u32>) -> VisitLine {
    let limits = crate::catalog::PersonLimits { sex, min_age, max_age: None };
    VisitLine { limits: Some(limits), ..line(sn, item, "2026-03-02", 1) }
}

/// An outpatient visit on `day`.
fn clinic(id: &str, day: &str) -> Visit {
    Visit { inpatient: false, ..stay(id, day, day, "J06.9") }
}

fn base_text(rule: &str) -> String {
    format!("region = \"620300\"\nversion = 1\n[[rules]]\ncode = \"R1\"\nseverity = \"suspect\"\n{rule}")
}

fn base(rule: &str) -> RuleBase {
    RuleBase::parse(&base_text(rule)).unwrap()
}

#[test]
fn invoice_numbers_compare_without_their_writing() {
    for (a, b) in [("No. 0012345", "12345"), ("no12345", "00012345"), ("ab-12 34", "AB1234")] {
        assert_eq!(invoice_key(a), invoice_key(b), "{a} / {b}");
    }
    assert_ne!(invoice_key("12345"), invoice_key("123450"));
}

/// Each rule: a case that hits, and the nearest case that does not.
#[test]
fn table() {
    let visit = |lines: Vec<VisitLine>| Visit { lines, ..stay("V", "2026-03-01", "2026-03-10", "C34.9") };
    type Case = (&'static str, &'static str, Visit, Vec<Visit>, bool);
    let cases: Vec<Case> = vec![
        (
            "overlap",
            "kind = \"overlapping_stays\"",
            visit(vec![]),
            vec![stay("O", "2026-03-09", "2026-03-12", "I10")],
            true,
        ),
        (
            "transfer",
            "kind = \"overlapping_stays\"",
            visit(vec![]),
            vec![stay("O", "2026-03-10", "2026-03-12", "I10")],
            false,
        ),
        (
            "split",
            "kind = \"split_admission\"\nwithin_days = 15",
            visit(vec![]),
            vec![stay("O", "2026-02-01", "2026-02-14", "C34.9")],
            true,
        ),
        (
            "split, 16 days",
            "kind = \"split_admission\"\nwithin_days = 15",
            visit(vec![]),
            vec![stay("O", "2026-02-01", "2026-02-13", "C34.9")],
            false,
        ),
        (
            "split, other diagnosis",
            "kind = \"split_admission\"\nwithin_days = 15",
            visit(vec![]),
            vec![stay("O", "2026-02-01", "2026-02-14", "I10")],
            false,
        ),
        (
            "repeat",
            "kind = \"repeat_charging\"\nitem = \"A\"\nper_day = 1",
            visit(vec![line("1", "A", "2026-03-02", 1), line("2", "A", "2026-03-02", 1)]),
            vec![],
            true,
        ),
        (
            "repeat, two days",
            "kind = \"repeat_charging\"\nitem = \"A\"\nper_day = 1",
            visit(vec![line("1", "A", "2026-03-02", 1), line("2", "A", "2026-03-03", 1)]),
            vec![],
            false,
        ),
        (
            "sex",
            "kind = \"restricted_sex\"\nitem = \"G\"\nsex = \"female\"",
            visit(vec![line("1", "G", "2026-03-02", 1)]),
            vec![],
            true,
        ),
        (
            "sex, other item",
            "kind = \"restricted_sex\"\nitem = \"G\"\nsex = \"female\"",
            visit(vec![line("1", "H", "2026-03-02", 1)]),
            vec![],
            false,
        ),
        (
            "age",
            "kind = \"restricted_age\"\nitem = \"P\"\nmax_age = 40",
            visit(vec![line("1", "P", "2026-06-12", 1)]),
            vec![],
            true,
        ),
        (
            "age, the day before the birthday",
            "kind = \"restricted_age\"\nitem = \"P\"\nmax_age = 40",
            visit(vec![line("1", "P", "2026-06-11", 1)]),
            vec![],
            false,
        ),
        (
            "bed",
            "kind = \"bed_without_treatment\"\ndays = 3\nbed_items = [\"BED\", \"NURSE\"]",
            visit(vec![
                line("1", "BED", "2026-03-02", 1),
                line("2", "NURSE", "2026-03-03", 1),
                line("3", "BED", "2026-03-04", 1),
            ]),
            vec![],
            true,
        ),
        (
            "bed, treated on the middle day",
            "kind = \"bed_without_treatment\"\ndays = 3\nbed_items = [\"BED\", \"NURSE\"]",
            visit(vec![
                line("1", "BED", "2026-03-02", 1),
                line("2", "BED", "2026-03-03", 1),
                line("2b", "CT", "2026-03-03", 1),
                line("3", "BED", "2026-03-04", 1),
            ]),
            vec![],
            false,
        ),
        // The stay is 1–10 March: nine days, plus three to take home.
        (
            "over quantity",
            "kind = \"over_quantity\"\nitem = \"D\"\ndaily_dose = 3\noutpatient_days = 7\ndischarge_days = 3",
            visit(vec![line("1", "D", "2026-03-02", 30), line("2", "D", "2026-03-09", 7)]),
            vec![],
            true,
        ),
        (
            "over quantity, twelve days' supply",
            "kind = \"over_quantity\"\nitem = \"D\"\ndaily_dose = 3\noutpatient_days = 7\ndischarge_days = 3",
            visit(vec![line("1", "D", "2026-03-02", 30), line("2", "D", "2026-03-09", 6)]),
            vec![],
            false,
        ),
        (
            "over quantity, an outpatient visit",
            "kind = \"over_quantity\"\nitem = \"D\"\ndaily_dose = 3\noutpatient_days = 7\ndischarge_days = 3",
            Visit { inpatient: false, ..visit(vec![line("1", "D", "2026-03-01", 22)]) },
            vec![],
            true,
        ),
        (
            "over quantity, seven days at the clinic",
            "kind = \"over_quantity\"\nitem = \"D\"\ndaily_dose = 3\noutpatient_days = 7\ndischarge_days = 3",
            Visit { inpatient: false, ..visit(vec![line("1", "D", "2026-03-01", 21)]) },
            vec![],
            false,
        ),
        (
            "catalog limits",
            "kind = \"catalog_limits\"",
            visit(vec![limited("1", "G", Some(Sex::Female), None), limited("2", "P", None, Some(40))]),
            vec![],
            true,
        ),
        (
            "catalog limits, a man's item and an adult's",
            "kind = \"catalog_limits\"",
            visit(vec![limited("1", "G", Some(Sex::Male), None), limited("2", "P", Some(Sex::Male), Some(18))]),
            vec![],
            false,
        ),
        (
            "frequency",
            "kind = \"frequency\"\nmax = 2\nwithin_days = 7",
            visit(vec![]),
            vec![clinic("O1", "2026-02-23"), clinic("O2", "2026-02-28")],
            true,
        ),
        (
            "frequency, the first visit eight days before",
            "kind = \"frequency\"\nmax = 2\nwithin_days = 7",
            visit(vec![]),
            vec![clinic("O1", "2026-02-22"), clinic("O2", "2026-02-28")],
            false,
        ),
        (
            "the same examination",
            "kind = \"frequency\"\nmax = 1\nwithin_days = 30\nitem = \"CT\"",
            visit(vec![line("1", "CT", "2026-03-02", 1)]),
            vec![Visit { lines: vec![line("9", "CT", "2026-02-20", 1)], ..clinic("O1", "2026-02-20") }],
            true,
        ),
        (
            "the same examination, the other visit without it",
            "kind = \"frequency\"\nmax = 1\nwithin_days = 30\nitem = \"CT\"",
            visit(vec![line("1", "CT", "2026-03-02", 1)]),
            vec![Visit { lines: vec![line("9", "MRI", "2026-02-20", 1)], ..clinic("O1", "2026-02-20") }],
            false,
        ),
        (
            "the same examination, not on this visit",
            "kind = \"frequency\"\nmax = 1\nwithin_days = 30\nitem = \"CT\"",
            visit(vec![line("1", "MRI", "2026-03-02", 1)]),
            vec![Visit { lines: vec![line("9", "CT", "2026-02-20", 1)], ..clinic("O1", "2026-02-20") }],
            false,
        ),
        (
            "duplicate invoice, written otherwise",
            "kind = \"duplicate_invoice\"\nwithin_days = 365",
            invoiced(visit(vec![]), "No. 0012345"),
            vec![invoiced(clinic("O1", "2026-01-05"), "12345")],
            true,
        ),
        (
            "duplicate invoice, another number",
            "kind = \"duplicate_invoice\"\nwithin_days = 365",
            invoiced(visit(vec![]), "No. 0012345"),
            vec![invoiced(clinic("O1", "2026-01-05"), "12346")],
            false,
        ),
        (
            "duplicate invoice, the same number of another institution",
            "kind = \"duplicate_invoice\"\nwithin_days = 365",
            invoiced(visit(vec![]), "12345"),
            vec![invoiced(Visit { institution: "H62030200002".into(), ..clinic("O1", "2026-01-05") }, "12345")],
            false,
        ),
        (
            "the same stay paid twice",
            "kind = \"duplicate_invoice\"\nwithin_days = 365",
            visit(vec![]),
            vec![stay("S1", "2026-03-01", "2026-03-10", "C34.9")],
            true,
        ),
        (
            "the same stay, a day longer",
            "kind = \"duplicate_invoice\"\nwithin_days = 365",
            visit(vec![]),
            vec![stay("S1", "2026-03-01", "2026-03-11", "C34.9")],
            false,
        ),
    ];
    for (name, rule, visit, others, hits) in cases {
        let found = check(&base(rule), &visit, &others);
        assert_eq!(!found.is_empty(), hits, "{name}: {found:?}");
        for h in &found {
            assert!(!h.message.zh.is_empty() && !h.message.en.is_empty(), "{name}");
            assert_eq!((h.rule.as_str(), h.severity, h.visit.as_str()), ("R1", Severity::Suspect, "V"), "{name}");
        }
    }
}

#[test]
fn hits_name_their_evidence_and_the_same_input_gives_the_same_hits() {
    let rules = base("kind = \"repeat_charging\"\nitem = \"A\"\nper_day = 2\nzh = \"自定义\"\nen = \"own wording\"");
    let v = Visit {
        lines: vec![line("7", "A", "2026-03-02", 2), line("8", "B", "2026-03-02", 9), line("9", "A", "2026-03-02", 1)],
        ..stay("V", "2026-03-01", "2026-03-10", "C34.9")
    };
    let hits = check(&rules, &v, &[]);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].evidence, Evidence::Lines(vec!["7".into(), "9".into()]));
    assert_eq!(hits[0].message, Text::new("自定义", "own wording"));
    assert_eq!(check(&rules, &v, &[]), hits);
    let other_person = Visit { person_id: 2, ..stay("O", "2026-03-02", "2026-03-04", "I10") };
    let overlap = base("kind = \"overlapping_stays\"");
    assert!(check(&overlap, &v, &[other_person, v.clone()]).is_empty(), "another person, or the visit itself");
}

#[test]
fn the_rules_say_how_far_back_they_look() {
    assert_eq!(base("kind = \"repeat_charging\"\nitem = \"A\"\nper_day = 1").history_window(), None);
    assert_eq!(base("kind = \"overlapping_stays\"").history_window(), Some(0));
    assert_eq!(base("kind = \"split_admission\"\nwithin_days = 15").history_window(), Some(15));
    let demo = RuleBase::parse(include_str!("../../../../docs/formats/examples/rules-620300-1.toml")).unwrap();
    assert_eq!(demo.history_window(), Some(30), "the repeated examination's and the invoices' 30 days");
}

#[test]
fn the_documented_example_is_a_valid_rule_base() {
    let base = RuleBase::parse(include_str!("../../../../docs/formats/examples/rules-620300-1.toml")).unwrap();
    assert_eq!((base.region.as_str(), base.version, base.rules.len()), ("620300", 1, 12));
}

#[test]
fn every_problem_of_a_rule_base_is_named_with_its_path() {
    let text = "region = \"62030\"\nversion = 0\n\
        [[rules]]\ncode = \"R1\"\nseverity = \"hint\"\nkind = \"split_admission\"\nwithin_days = 0\n\
        [[rules]]\ncode = \"R1\"\nseverity = \"violation\"\nkind = \"restricted_age\"\nitem = \"P\"\nmin_age = 9\nmax_age = 3\n\
        [[rules]]\ncode = \"R3\"\nseverity = \"hint\"\nblocks_settlement = true\nkind = \"repeat_charging\"\nitem = \" \"\nper_day = 0\n";
    let errors = RuleBase::parse(text).unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "region",
            "version",
            "rules[0].within_days",
            "rules[1].code",
            "rules[1].max_age",
            "rules[2].blocks_settlement",
            "rules[2].item",
            "rules[2].per_day"
        ]
    );
    assert!(errors.iter().all(|e| !e.message.zh.is_empty() && !e.message.en.is_empty()));
    let unknown = RuleBase::parse(
        "region = \"620300\"\nversion = 1\n[[rules]]\ncode = \"X\"\nseverity = \"hint\"\nkind = \"nonsense\"",
    );
    assert_eq!(unknown.unwrap_err()[0].path, "");
    let typo = "region = \"620300\"\nversion = 1\n[[rules]]\ncode = \"X\"\nseverity = \"hint\"\n\
        kind = \"restricted_age\"\nitem = \"P\"\nmax_age = 9\nmin_agee = 3\n";
    assert!(RuleBase::parse(typo).is_err(), "a misspelt key is refused, not ignored");
}
