#![allow(clippy::unwrap_used)]

use super::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn cal() -> Calendar {
    Calendar::built_in().unwrap()
}

/// The 15-working-day promise across the long holidays, with their adjusted working
/// weekends (调休), counted by hand from the State Council's notices.
#[test]
fn due_dates_skip_the_spring_festival_and_national_day_and_count_their_adjusted_weekends() {
    let table = [
        // An ordinary fortnight: 15 weekdays.
        ("2026-03-02", "2026-03-23"),
        // Approved the Friday before Spring Festival 2026 (holiday 02-15..02-23). Saturday
        // 02-14 is worked (1); 02-24..27 (5), Saturday 02-28 worked (6), 03-02..06 (11),
        // 03-09..12 (15).
        ("2026-02-13", "2026-03-12"),
        // Approved on the adjusted Saturday itself: the count starts the day after.
        ("2026-02-14", "2026-03-13"),
        // Spring Festival 2025 (01-28..02-04, with 01-26 and 02-08 worked): from Friday
        // 01-24, Sunday 01-26 (1), 01-27 (2), 02-05..07 (5), Saturday 02-08 (6),
        // 02-10..14 (11), 02-17..20 (15).
        ("2025-01-24", "2025-02-20"),
        // National Day 2026 (10-01..07, 09-25..27 Mid-Autumn; 09-20 and 10-10 worked):
        // from 09-18, Sunday 09-20 (1), 09-21..24 (5), 09-28..30 (8), 10-08..09 (10),
        // Saturday 10-10 (11), 10-12..15 (15).
        ("2026-09-18", "2026-10-15"),
        // National Day 2025 (10-01..08; 09-28 and 10-11 worked): from 09-26, Sunday 09-28
        // (1), 09-29..30 (3), 10-09..10 (5), Saturday 10-11 (6), 10-13..17 (11),
        // 10-20..23 (15).
        ("2025-09-26", "2025-10-23"),
    ];
    for (approved, due) in table {
        let e = due_date(&cal(), d(approved)).unwrap();
        assert_eq!((approved, e.date), (approved, d(due)));
        assert!(!e.provisional);
    }
    // Into a year whose holidays are not published: a forecast, and it says so.
    assert!(due_date(&cal(), d("2026-12-28")).unwrap().provisional);
}

#[test]
fn urgency_is_counted_in_working_days() {
    let c = cal();
    let due = d("2026-03-12");
    assert_eq!(Urgency::of(&c, due, d("2026-03-13")), Urgency::Overdue);
    assert_eq!(Urgency::of(&c, due, d("2026-03-12")), Urgency::AtRisk);
    // Monday 03-09: three working days left (10, 11, 12).
    assert_eq!(Urgency::of(&c, due, d("2026-03-09")), Urgency::AtRisk);
    // Friday 03-06: four (09..12).
    assert_eq!(Urgency::of(&c, due, d("2026-03-06")), Urgency::OnTime);
}

#[test]
fn orders_move_only_along_their_steps() {
    use OrderAction as A;
    use OrderState as S;
    assert_eq!(S::AwaitingAccount.after(A::Account).unwrap(), S::Ready);
    assert_eq!(S::Ready.after(A::Batch).unwrap(), S::Batched);
    assert_eq!(S::Batched.after(A::Export).unwrap(), S::Exported);
    assert_eq!(S::Exported.after(A::Paid).unwrap(), S::Paid);
    assert_eq!(S::Exported.after(A::Fail).unwrap(), S::Failed);
    assert_eq!(S::Failed.after(A::Account).unwrap(), S::Ready);
    // Nothing is paid twice or batched while in flight.
    for s in [S::Paid, S::Batched, S::Exported] {
        assert!(s.after(A::Account).is_err() && s.after(A::Batch).is_err(), "{s:?}");
    }
    assert!(S::Paid.after(A::Paid).is_err());
    assert!(S::AwaitingAccount.after(A::Batch).is_err());
    assert_eq!(BatchState::Built.after(BatchAction::Approve).unwrap(), BatchState::Approved);
    assert!(BatchState::Built.after(BatchAction::Export).is_err(), "four eyes before export");
    assert_eq!(BatchState::Exported.after(BatchAction::Export).unwrap(), BatchState::Exported);
    assert!(BatchState::Exported.after(BatchAction::Cancel).is_err());
}

fn file() -> BatchFile {
    BatchFile {
        batch_no: "PB620300-20261123-01".into(),
        region: "620300".into(),
        created_on: d("2026-11-23"),
        format: BankFormat::Csv,
        lines: vec![
            BatchLine {
                seq: 1,
                order_no: "PO00000001".into(),
                account_name: "张三".into(),
                bank_card: "6222022703001234561".into(),
                bank_name: "中国工商银行金昌分行".into(),
                amount: Fen::from_fen(354_215),
            },
            BatchLine {
                seq: 2,
                order_no: "PO00000002".into(),
                account_name: "李四".into(),
                bank_card: "6228480010000000001".into(),
                bank_name: "农业银行, 金川支行".into(),
                amount: Fen::from_fen(4_005),
            },
        ],
    }
}

#[test]
fn a_batch_file_carries_its_count_and_control_total_and_is_the_same_every_time() {
    let f = file();
    let text = String::from_utf8(f.to_csv()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "H,PB620300-20261123-01,620300,2026-11-23,2,3582.20");
    assert_eq!(lines[1], "D,1,PO00000001,张三,6222022703001234561,中国工商银行金昌分行,3542.15");
    assert_eq!(lines[2], "D,2,PO00000002,李四,6228480010000000001,\"农业银行, 金川支行\",40.05");
    assert_eq!(lines[3], "T,2,3582.20");
    assert_eq!(f.to_csv(), file().to_csv());
}

/// A name or bank name that a spreadsheet would run as a formula goes into the file as text.
#[test]
fn names_a_spreadsheet_would_run_are_neutralised_in_the_bank_file() {
    let mut f = file();
    f.lines[0].account_name = "=HYPERLINK(\"http://evil.example\",\"点击\")".into();
    f.lines[1].bank_name = "@SUM(1+1)*cmd".into();
    let text = String::from_utf8(f.to_csv()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[1].contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"点击\"\")\","), "{}", lines[1]);
    assert!(lines[2].contains(",'@SUM(1+1)*cmd,"), "{}", lines[2]);
    assert_eq!(lines[3], "T,2,3582.20", "amounts are untouched");
}

#[test]
fn a_result_file_is_read_and_checked_against_its_header() {
    let ok = "H,PB620300-20261123-01,2,3582.20\n\
              R,1,PO00000001,3542.15,S,,,2026-11-25\n\
              R,2,PO00000002,40.05,F,closed_account,账户已销户,2026-11-25\n";
    let r = ResultFile::parse(ok.as_bytes()).unwrap();
    assert_eq!(r.batch_no, "PB620300-20261123-01");
    assert_eq!((r.results[0].processed_on, &r.results[0].failure), (d("2026-11-25"), &None));
    assert_eq!(r.results[1].failure, Some((BankFailure::ClosedAccount, "账户已销户".into())));

    let bad_total = ok.replace("2,3582.20", "2,3582.21");
    let e = ResultFile::parse(bad_total.as_bytes()).unwrap_err();
    assert!(e[0].message.zh.contains("控制信息不符"), "{e:?}");

    let bad_lines = ok.replace(",S,", ",X,").replace("closed_account", "gone");
    let e = ResultFile::parse(bad_lines.as_bytes()).unwrap_err();
    assert_eq!(e.iter().map(|e| e.line).collect::<Vec<_>>(), vec![2, 3], "{e:?}");
    assert!(e[1].message.en.contains("closed_account"), "the valid codes are named: {e:?}");

    let twice = ok.replace("R,2,PO00000002", "R,1,PO00000002");
    assert!(ResultFile::parse(twice.as_bytes()).unwrap_err()[0].message.en.contains("twice"));
    assert!(ResultFile::parse(b"").is_err());
}

fn books() -> Books {
    let fen = Fen::from_fen;
    Books {
        approved: BTreeMap::from([
            (Subject::Claim(1), fen(1000)),
            (Subject::Claim(2), fen(500)),
            (Subject::Withdrawal(3), fen(250)),
        ]),
        orders: vec![
            OrderFigures {
                id: 10,
                order_no: "PO10".into(),
                subject: Subject::Claim(1),
                amount: fen(1000),
                state: OrderState::Paid,
            },
            OrderFigures {
                id: 11,
                order_no: "PO11".into(),
                subject: Subject::Claim(2),
                amount: fen(500),
                state: OrderState::Ready,
            },
            OrderFigures {
                id: 12,
                order_no: "PO12".into(),
                subject: Subject::Withdrawal(3),
                amount: fen(250),
                state: OrderState::Exported,
            },
        ],
        batches: vec![
            BatchFigures { id: 1, batch_no: "B1".into(), state: BatchState::Closed, count: 2, total: fen(1500) },
            BatchFigures { id: 2, batch_no: "B2".into(), state: BatchState::Exported, count: 1, total: fen(250) },
        ],
        items: vec![
            ItemFigures { batch_id: 1, order_id: 10, amount: fen(1000), paid: Some(true) },
            // Failed in the first batch, corrected, ready for the next.
            ItemFigures { batch_id: 1, order_id: 11, amount: fen(500), paid: Some(false) },
            ItemFigures { batch_id: 2, order_id: 12, amount: fen(250), paid: None },
        ],
    }
}

#[test]
fn books_that_agree_reconcile_to_the_fen() {
    let r = reconcile(&books());
    assert!(r.balances(), "{:?}", r.differences);
    assert_eq!((r.approved, r.ordered), (Fen::from_fen(1750), Fen::from_fen(1750)));
    assert_eq!((r.paid, r.in_flight, r.unpaid), (Fen::from_fen(1000), Fen::from_fen(250), Fen::from_fen(500)));
}

#[test]
fn reconciliation_names_each_disagreement() {
    // Paid twice.
    let mut b = books();
    b.items.push(ItemFigures { batch_id: 2, order_id: 10, amount: Fen::from_fen(1000), paid: Some(true) });
    let r = reconcile(&b);
    assert!(r.differences.iter().any(|d| d.en.contains("PO10 was paid 2 times")), "{:?}", r.differences);
    assert!(r.differences.iter().any(|d| d.en.contains("batch B2")), "the batch's total: {:?}", r.differences);
    // An approved claim without its order; an order of the wrong amount.
    let mut b = books();
    b.orders.remove(1);
    b.orders[1].amount = Fen::from_fen(249);
    let r = reconcile(&b);
    assert!(r.differences.iter().any(|d| d.en.contains("claim 2 has no payment order")), "{:?}", r.differences);
    assert!(r.differences.iter().any(|d| d.en.contains("order PO12 is for 2.49")), "{:?}", r.differences);
    // An order for a withdrawal nobody approved.
    let mut b = books();
    b.approved.remove(&Subject::Withdrawal(3));
    let r = reconcile(&b);
    let named = r.differences.iter().any(|d| d.en.contains("order PO12's account withdrawal 3 is not approved"));
    assert!(named && r.differences.iter().any(|d| d.zh.contains("个人账户支取 3")), "{:?}", r.differences);
    // A paid order without a paid result.
    let mut b = books();
    b.items[0].paid = Some(false);
    assert!(!reconcile(&b).balances());
}

#[test]
fn the_fixed_width_file_has_its_byte_widths_in_gbk() {
    let f = BatchFile { format: BankFormat::FixedGbk, ..file() };
    assert_eq!(f.file_name(), "PB620300-20261123-01.txt");
    let bytes = f.bytes().unwrap();
    let records: Vec<&[u8]> = bytes.split(|b| *b == b'\n').filter(|r| !r.is_empty()).collect();
    let lengths: Vec<usize> = records.iter().map(|r| r.len()).collect();
    // Each record ends in CR: header 58, details 131, trailer 24 bytes before it.
    assert_eq!(lengths, [59, 132, 132, 25]);
    let (header, _, _) = encoding_rs::GBK.decode(records[0]);
    assert_eq!(header.trim_end(), "HPB620300-20261123-016203002026112300000002000000000358220");
    let (detail, _, _) = encoding_rs::GBK.decode(records[1]);
    // 张三 is 4 bytes in GBK: 26 spaces of padding follow it.
    assert!(
        detail.starts_with("D000001PO00000001          张三                          6222022703001234561"),
        "{detail}"
    );
    assert!(detail.trim_end().ends_with("000000000354215"), "{detail}");
    assert_eq!(f.bytes().unwrap(), bytes, "the same bytes every time");
    // A name too long for its 30 bytes, or a character GBK lacks, is refused by field.
    let mut long = f.clone();
    long.lines[0].account_name = "阿卜杜热合曼·买买提依明·艾尔肯江·托合提".into();
    assert_eq!(long.bytes().unwrap_err().field, "account_name");
    let mut odd = f;
    odd.lines[0].bank_name = "银行🏦".into();
    assert_eq!(odd.bytes().unwrap_err().code, "not_gbk");
}
