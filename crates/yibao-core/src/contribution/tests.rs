//! Bills across the floor, the ceiling and rounding; credits by age band; arrears, grace and
//! waiting across month and year ends; residents in and after the collection period.

use chrono::NaiveDate;

use super::months::{resident_standing, standing, Paid, Standing, YearMonth};
use super::*;

const EXAMPLE: &str = include_str!("../../../../docs/formats/examples/contributions-620300-2026.toml");

fn rules() -> ContributionRules {
    ContributionRules::parse(EXAMPLE).unwrap()
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn yuan(s: &str) -> Fen {
    s.parse().unwrap()
}

fn ym(s: &str) -> YearMonth {
    s.parse().unwrap()
}

#[test]
fn the_documented_example_is_valid() {
    let r = rules();
    assert_eq!((r.region.as_str(), r.year, r.version), ("620300", 2026, 1));
    // 6,850 × 60 % and × 300 %.
    assert_eq!((r.employee.floor(), r.employee.ceiling()), (yuan("4110.00"), yuan("20550.00")));
}

#[test]
fn an_employees_bill_holds_the_base_between_floor_and_ceiling_and_rounds_each_part_once() {
    let r = rules();
    // (wage, base, employer 6.5 %, employee 2 %, a note)
    let cases = [
        ("3000.00", "4110.00", "267.15", "82.20", true),
        ("4109.99", "4110.00", "267.15", "82.20", true),
        ("4110.00", "4110.00", "267.15", "82.20", false),
        // 5,555.55 × 0.065 = 361.11075 → 361.11; × 0.02 = 111.111 → 111.11
        ("5555.55", "5555.55", "361.11", "111.11", false),
        // 5,555.57 × 0.065 = 361.11205 → 361.11; 5,555.77 × 0.065 = 361.12505 → 361.13 (half up)
        ("5555.77", "5555.77", "361.13", "111.12", false),
        ("20550.00", "20550.00", "1335.75", "411.00", false),
        ("20550.01", "20550.00", "1335.75", "411.00", true),
        ("90000.00", "20550.00", "1335.75", "411.00", true),
    ];
    for (wage, base, employer, employee, noted) in cases {
        let b = r.employee.bill(yuan(wage));
        assert_eq!((b.base, b.employer, b.employee), (yuan(base), yuan(employer), yuan(employee)), "{wage}");
        assert_eq!(b.total(), yuan(employer).saturating_add(yuan(employee)), "{wage}");
        assert_eq!(b.note.is_some(), noted, "{wage}");
        assert_eq!(b.declared, yuan(wage));
    }
}

#[test]
fn a_flexible_worker_chooses_one_of_the_bases() {
    let r = rules();
    let b = r.flexible_bill(60).unwrap();
    // 4,110 × 7 % = 287.70, all the worker's.
    assert_eq!((b.base, b.employer, b.employee), (yuan("4110.00"), Fen::ZERO, yuan("287.70")));
    assert_eq!(r.flexible_bill(100).unwrap().employee, yuan("479.50"));
    assert_eq!(r.flexible_bill(80), None, "not a choice");
}

#[test]
fn a_resident_pays_the_amount_of_the_category_with_the_subsidy_shown() {
    let r = rules();
    let a = r.resident_amount(PersonCategory::Student).unwrap();
    assert_eq!((a.personal, a.subsidy), (yuan("400.00"), yuan("700.00")));
    assert!(r.resident_amount(PersonCategory::InService).is_none());
}

#[test]
fn the_account_is_credited_by_the_age_band() {
    let r = rules();
    let bill = r.employee.bill(yuan("8000.00"));
    // (category, age, credit): own part 160.00; the base share 0 %, 0.2 %, 0.4 % of 8,000.
    let cases = [
        (PersonCategory::InService, 34, "160.00"),
        (PersonCategory::InService, 35, "176.00"),
        (PersonCategory::InService, 44, "176.00"),
        (PersonCategory::InService, 45, "192.00"),
        (PersonCategory::Retired, 69, "95.00"),
        (PersonCategory::Retired, 70, "110.00"),
        (PersonCategory::ResidentAdult, 40, "0.00"),
    ];
    for (category, age, credit) in cases {
        let (amount, why) = r.account_credit(category, age, Some(&bill));
        assert_eq!(amount, yuan(credit), "{category:?} {age}");
        assert!(!why.zh.is_empty() && !why.en.is_empty());
    }
    assert_eq!(r.account_credit(PersonCategory::InService, 30, None).0, Fen::ZERO, "no bill, no credit");
}

fn paid(months: &[(&str, &str)]) -> Vec<Paid> {
    months.iter().map(|(m, on)| Paid { month: ym(m), on: d(on) }).collect()
}

#[test]
fn cover_follows_the_months_paid_with_grace_and_waiting() {
    let r = rules().arrears; // grace 3 months, waiting 90 days, back-dated
    let year: Vec<(String, String)> = (1..=12).map(|m| (format!("2025-{m:02}"), format!("2025-{m:02}-15"))).collect();
    let year: Vec<(&str, &str)> = year.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let through_2025 = paid(&year);
    // (what, payments, day, standing)
    let cases: Vec<(&str, Vec<Paid>, &str, Standing)> = vec![
        ("paid month", through_2025.clone(), "2025-12-20", Standing::Paid),
        (
            "across the year end, in grace",
            through_2025.clone(),
            "2026-03-31",
            Standing::Grace { unpaid_since: ym("2026-01") },
        ),
        ("four months behind", through_2025.clone(), "2026-04-01", Standing::Arrears { unpaid_since: ym("2026-01") }),
        ("nothing paid", Vec::new(), "2026-01-10", Standing::NeverPaid),
        (
            "resumed after an interruption: waiting",
            [through_2025.clone(), paid(&[("2026-06", "2026-06-10")])].concat(),
            "2026-06-20",
            Standing::Waiting { from: d("2026-09-08") },
        ),
        (
            "resumed after an interruption: the waiting over",
            [
                through_2025.clone(),
                paid(&[
                    ("2026-06", "2026-06-10"),
                    ("2026-07", "2026-07-10"),
                    ("2026-08", "2026-08-10"),
                    ("2026-09", "2026-09-10"),
                ]),
            ]
            .concat(),
            "2026-09-10",
            Standing::Paid,
        ),
        (
            "arrears paid, back-dated: no gap, no waiting",
            [
                through_2025.clone(),
                paid(&[
                    ("2026-01", "2026-06-10"),
                    ("2026-02", "2026-06-10"),
                    ("2026-03", "2026-06-10"),
                    ("2026-04", "2026-06-10"),
                    ("2026-05", "2026-06-10"),
                    ("2026-06", "2026-06-10"),
                ]),
            ]
            .concat(),
            "2026-06-20",
            Standing::Paid,
        ),
        (
            "a gap of exactly the grace is no interruption",
            [through_2025.clone(), paid(&[("2026-04", "2026-04-05")])].concat(),
            "2026-04-20",
            Standing::Paid,
        ),
    ];
    for (what, payments, day, expected) in cases {
        let got = standing(&r, 0, &payments, d(day), d(day));
        assert_eq!(got, expected, "{what}");
        assert_eq!(got.covered(), expected.refusal().is_none(), "{what}");
    }
    // Paid on the day after: not known at a settlement on the day, known to a later claim.
    let late = paid(&[("2026-01", "2026-01-21")]);
    assert_eq!(standing(&r, 0, &late, d("2026-01-20"), d("2026-01-20")), Standing::NeverPaid);
    assert_eq!(standing(&r, 0, &late, d("2026-01-20"), d("2026-02-01")), Standing::Paid);
}

#[test]
fn arrears_paid_late_under_from_payment_leave_the_months_uncovered_and_wait() {
    let r = ArrearsRules { restore: Restore::FromPayment, ..rules().arrears };
    let months: Vec<(String, &str)> = (1..=6).map(|m| (format!("2026-{m:02}"), "2026-08-10")).collect();
    let mut payments = paid(&[("2025-12", "2025-12-10")]);
    payments.extend(months.iter().map(|(m, on)| Paid { month: ym(m), on: d(on) }));
    // January to April were paid after their grace ran out: they do not count; May and June
    // did not either (paid in August, their grace ends in August and September: they count).
    let got = standing(&r, 0, &payments, d("2026-08-20"), d("2026-08-20"));
    assert_eq!(got, Standing::Waiting { from: d("2026-11-08") }, "the gap stays, and the waiting applies");
    // March was within the grace of December's payment; April was not, and stays uncovered.
    assert!(standing(&r, 0, &payments, d("2026-03-10"), d("2026-08-20")).covered());
    let april = standing(&r, 0, &payments, d("2026-04-10"), d("2026-08-20"));
    assert_eq!(april, Standing::Arrears { unpaid_since: ym("2026-01") });
}

#[test]
fn a_first_time_flexible_worker_waits_after_the_first_payment() {
    let r = rules();
    let first = paid(&[
        ("2026-03", "2026-03-05"),
        ("2026-04", "2026-04-05"),
        ("2026-05", "2026-05-05"),
        ("2026-06", "2026-06-05"),
    ]);
    let wait = r.flexible.first_waiting_days;
    assert_eq!(
        standing(&r.arrears, wait, &first, d("2026-05-20"), d("2026-05-20")),
        Standing::Waiting { from: d("2026-06-03") }
    );
    assert_eq!(standing(&r.arrears, wait, &first, d("2026-06-05"), d("2026-06-05")), Standing::Paid);
    assert_eq!(
        standing(&r.arrears, 0, &first, d("2026-03-10"), d("2026-03-10")),
        Standing::Paid,
        "an employee does not wait"
    );
}

#[test]
fn a_resident_is_covered_for_the_year_paid_in_the_collection_period() {
    let r = rules().resident;
    let s = |paid_on: Option<&str>, day: &str| {
        resident_standing(r.collection_to, r.late_waiting_days, paid_on.map(d), d(day), d(day))
    };
    assert_eq!(s(Some("2025-12-31"), "2026-01-01"), Standing::Paid);
    assert_eq!(s(Some("2026-01-01"), "2026-02-01"), Standing::Waiting { from: d("2026-04-01") });
    assert_eq!(s(Some("2026-01-01"), "2026-04-01"), Standing::Paid);
    assert_eq!(s(None, "2026-04-01"), Standing::NeverPaid);
}

#[test]
fn months_count_across_the_year_end() {
    assert_eq!(ym("2025-11").plus(3), ym("2026-02"));
    assert_eq!(ym("2026-02").plus(-3), ym("2025-11"));
    assert_eq!(ym("2025-12").until(ym("2026-01")), 1);
    assert_eq!(ym("2024-02").last_day(), d("2024-02-29"));
    assert_eq!(ym("2025-12").last_day(), d("2025-12-31"));
    for bad in ["2026-13", "2026-3", "26-03", "2026/03", ""] {
        assert!(bad.parse::<YearMonth>().is_err(), "{bad}");
    }
}

#[test]
fn every_problem_of_a_rules_document_is_named_with_its_path() {
    let text = EXAMPLE
        .replace("region = \"620300\"", "region = \"6203\"")
        .replace("base_floor_percent = 60", "base_floor_percent = 400")
        .replace("base_percents = [60, 100]", "base_percents = [60, 500]")
        .replace("category = \"student\"", "category = \"retired\"")
        .replace("{ min_age = 35, max_age = 44,", "{ min_age = 36, max_age = 44,");
    let errors = ContributionRules::parse(&text).unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "region",
            "employee.base_floor_percent",
            "flexible.base_percents[0]",
            "flexible.base_percents[1]",
            "resident.amounts[3].category",
            "account.employee[1].min_age",
        ],
        "{errors:?}"
    );
    assert!(errors.iter().all(|e| !e.message.zh.is_empty() && !e.message.en.is_empty()));
    let typo = EXAMPLE.replace("rate = \"0.07\"", "rate = \"0.07\"\nrat = 1");
    assert_eq!(ContributionRules::parse(&typo).unwrap_err()[0].path, "", "an unknown key is refused");
}

#[test]
fn a_flexible_worker_pays_months_from_the_first_unpaid_within_the_year() {
    let r = rules();
    // Paid through August: September on (the arrears within the grace); paid long ago: now.
    assert_eq!(flexible_start(3, Some(ym("2026-08")), ym("2026-11")), ym("2026-09"));
    assert_eq!(flexible_start(3, Some(ym("2026-07")), ym("2026-11")), ym("2026-08"));
    assert_eq!(flexible_start(3, Some(ym("2026-06")), ym("2026-11")), ym("2026-11"));
    assert_eq!(flexible_start(3, None, ym("2026-11")), ym("2026-11"));
    assert_eq!(flexible_start(3, Some(ym("2026-12")), ym("2026-11")), ym("2027-01"), "paid ahead");
    let due = r.flexible_due(60, ym("2026-11"), 3).unwrap();
    // November and December only: January is next year's.
    assert_eq!(due.months, [ym("2026-11"), ym("2026-12")]);
    assert_eq!((due.monthly, due.amount), (yuan("287.70"), yuan("575.40")));
    assert!(r.flexible_due(60, ym("2027-01"), 1).is_none());
    // December of last year owed: this year's months from January (last year's at the window).
    assert_eq!(r.flexible_due(60, ym("2025-12"), 2).unwrap().months, [ym("2026-01"), ym("2026-02")]);
    assert!(r.flexible_due(75, ym("2026-11"), 1).is_none(), "not a base to choose");
}
