//! The fund's books (基金账): a double-entry ledger per fund — a scheme's money in one pooling
//! region. Every business event that moves the fund's money posts one entry, in the same
//! transaction, and every entry balances within each fund it touches: what a fund pays out
//! is owed to someone until it is paid, what comes in is in the bank. Amounts are signed:
//! a debit is positive, a credit negative. Nothing is edited: a reversal posts the opposite.
//!
//! The individual accounts are the employee scheme's: what they hold is owed to their holders
//! (`personal_accounts`), whichever scheme the visit they pay for is settled under.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::admin_code::AdminCode;
use crate::error::InvalidValue;
use crate::i18n::Text;
use crate::money::Fen;
use crate::registry::{coded_enum, Scheme};

coded_enum!(
    /// The ledger's accounts, the same in every fund.
    Account, "account" {
        Bank = "bank", "基金存款", "bank (the fund's money)";
        Contributions = "contributions", "征缴收入", "contributions received";
        Benefits = "benefits", "待遇支出", "benefits paid out";
        AccountCredits = "account_credits", "划入个人账户", "credited to individual accounts";
        PersonalAccounts = "personal_accounts", "个人账户结余", "individual accounts held";
        PayableInstitutions = "payable_institutions", "应付定点医药机构", "owed to designated institutions";
        PayablePersons = "payable_persons", "应付参保人", "owed to insured persons";
        DepositsHeld = "deposits_held", "暂扣质量保证金", "quality guarantee deposits held";
        Recovered = "recovered", "拒付追回", "deducted and recovered";
        Opening = "opening", "期初结转", "opening balances";
    }
);

/// A fund: a scheme's money in one pooling region (a prefecture).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fund {
    pub region: AdminCode,
    pub scheme: Scheme,
}

impl Fund {
    /// The fund of a person insured in `region` under `scheme`.
    pub fn of(region: AdminCode, scheme: Scheme) -> Fund {
        Fund { region: region.prefecture(), scheme }
    }

    /// The fund holding the individual accounts of persons insured in `region`.
    pub fn accounts_of(region: AdminCode) -> Fund {
        Fund::of(region, Scheme::Employee)
    }

    pub fn parse(s: &str) -> Result<Fund, InvalidValue> {
        let bad = || InvalidValue::new("fund", "format", format!("基金“{s}”无效"), format!("\"{s}\" is not a fund"));
        let (region, scheme) = s.split_once('-').ok_or_else(bad)?;
        Ok(Fund { region: region.parse().map_err(|_| bad())?, scheme: Scheme::parse(scheme).map_err(|_| bad())? })
    }

    pub fn label(self) -> Text {
        let s = self.scheme.label();
        Text::new(format!("{} {}基金", self.region, s.zh), format!("{} {} fund", self.region, s.en))
    }
}

impl fmt::Display for Fund {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.region, self.scheme.code())
    }
}

impl PartialOrd for Fund {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Fund {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.region.value(), self.scheme.code()).cmp(&(other.region.value(), other.scheme.code()))
    }
}

impl PartialOrd for Account {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Account {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let at = |a: &Account| Account::ALL.iter().position(|x| x == a);
        at(self).cmp(&at(other))
    }
}

/// One line of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    pub fund: Fund,
    pub account: Account,
    /// Positive a debit, negative a credit.
    pub amount: Fen,
}

/// What one business event posts: its kind (`settlement`, `claim`, ...), the number of what
/// it concerns, and its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub event: &'static str,
    pub reference: String,
    pub postings: Vec<Posting>,
}

impl Entry {
    pub fn new(event: &'static str, reference: impl Into<String>) -> Entry {
        Entry { event, reference: reference.into(), postings: Vec::new() }
    }

    /// `amount` moves in `fund` from `credit` to `debit` (nothing when zero).
    pub fn transfer(mut self, fund: Fund, debit: Account, credit: Account, amount: Fen) -> Entry {
        if amount != Fen::ZERO {
            self.postings.push(Posting { fund, account: debit, amount });
            self.postings.push(Posting { fund, account: credit, amount: Fen::ZERO.saturating_sub(amount) });
        }
        self
    }

    /// The same entry with every amount's sign turned: what undoes it.
    pub fn reversed(mut self, event: &'static str) -> Entry {
        self.event = event;
        for p in &mut self.postings {
            p.amount = Fen::ZERO.saturating_sub(p.amount);
        }
        self
    }

    /// The funds in which the entry does not balance, with by how much.
    pub fn unbalanced(&self) -> Vec<(Fund, Fen)> {
        let mut by_fund: BTreeMap<Fund, Fen> = BTreeMap::new();
        for p in &self.postings {
            let e = by_fund.entry(p.fund).or_insert(Fen::ZERO);
            *e = e.saturating_add(p.amount);
        }
        by_fund.into_iter().filter(|(_, s)| *s != Fen::ZERO).collect()
    }
}

/// Shares `total` out in proportion to `weights` (negative weights count as none), to the
/// fen: each share rounded down, the fen left over given one each to the largest remainders
/// (the first of equal ones). The shares add up to `total`; with no weight, all goes to the
/// first.
pub fn allocate(total: Fen, weights: &[Fen]) -> Vec<Fen> {
    let w: Vec<i128> = weights.iter().map(|f| i128::from(f.fen().max(0))).collect();
    let sum: i128 = w.iter().sum();
    let mut shares = vec![0_i128; weights.len()];
    if weights.is_empty() {
        return Vec::new();
    }
    let t = i128::from(total.fen());
    if sum == 0 {
        shares[0] = t;
    } else {
        let mut rem: Vec<(i128, usize)> = Vec::new();
        for (i, wi) in w.iter().enumerate() {
            shares[i] = t * wi / sum;
            rem.push((t * wi % sum, i));
        }
        let left = t - shares.iter().sum::<i128>();
        rem.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for k in 0..left.unsigned_abs() as usize {
            let i = rem[k % rem.len()].1;
            shares[i] += left.signum();
        }
    }
    shares.into_iter().map(|s| Fen::from_fen(s as i64)).collect()
}

/// Balances by fund and account.
pub type Balances = BTreeMap<(Fund, Account), Fen>;

/// Adds `amount` to a balance.
pub fn add(b: &mut Balances, fund: Fund, account: Account, amount: Fen) {
    if amount != Fen::ZERO {
        let e = b.entry((fund, account)).or_insert(Fen::ZERO);
        *e = e.saturating_add(amount);
    }
}

/// Every balance of `accounts` where the books differ from what the business tables say
/// they must be, with both figures; balances that are zero on both sides are equal.
pub fn compare(books: &Balances, expected: &Balances, accounts: &[Account]) -> Vec<Text> {
    let mut keys: Vec<(Fund, Account)> =
        books.keys().chain(expected.keys()).filter(|(_, a)| accounts.contains(a)).copied().collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for (fund, account) in keys {
        let ours = books.get(&(fund, account)).copied().unwrap_or(Fen::ZERO);
        let theirs = expected.get(&(fund, account)).copied().unwrap_or(Fen::ZERO);
        if ours != theirs {
            let (f, a) = (fund.label(), account.label());
            out.push(Text::new(
                format!("{}「{}」账面 {} 元，业务记录应为 {} 元", f.zh, a.zh, ours.to_grouped(), theirs.to_grouped()),
                format!(
                    "{} {}: the books hold {}, the records say {}",
                    f.en,
                    a.en,
                    ours.to_grouped(),
                    theirs.to_grouped()
                ),
            ));
        }
    }
    out
}

/// The accounts of the balance sheet: what the fund holds and owes. Their sum is the fund's
/// balance (结存), the same as income less expenditure since the books began.
pub const BALANCE_SHEET: &[Account] = &[
    Account::Bank,
    Account::PayableInstitutions,
    Account::PayablePersons,
    Account::PersonalAccounts,
    Account::DepositsHeld,
];

/// A fund's month, as the agency reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthFigures {
    pub fund: Fund,
    /// `2026-10`.
    pub month: String,
    /// Contributions received.
    pub income: Fen,
    /// Benefits and credits to individual accounts, less what was deducted and recovered.
    pub expenditure: Fen,
    /// The balance at the month's end (累计结存).
    pub balance: Fen,
    /// Months of expenditure the balance covers (累计结存可支付月数), in tenths: the balance
    /// over the average monthly expenditure of the fund's months so far; none while nothing
    /// was spent.
    pub months_covered_tenths: Option<i64>,
}

impl MonthFigures {
    /// `8.5`.
    pub fn months_covered(&self) -> String {
        self.months_covered_tenths.map(|t| format!("{}.{}", t / 10, (t % 10).abs())).unwrap_or_else(|| "—".into())
    }
}

/// The monthly figures of every fund from its postings summed by (fund, month, account), in
/// month order.
pub fn monthly(sums: &BTreeMap<(Fund, String, Account), Fen>) -> Vec<MonthFigures> {
    let mut months: BTreeMap<(Fund, String), (Fen, Fen, Fen)> = BTreeMap::new();
    for ((fund, month, account), amount) in sums {
        let e = months.entry((*fund, month.clone())).or_insert((Fen::ZERO, Fen::ZERO, Fen::ZERO));
        match account {
            Account::Contributions => e.0 = e.0.saturating_sub(*amount),
            Account::Benefits | Account::AccountCredits | Account::Recovered => e.1 = e.1.saturating_add(*amount),
            a if BALANCE_SHEET.contains(a) => e.2 = e.2.saturating_add(*amount),
            _ => {}
        }
    }
    let mut out = Vec::new();
    let mut running: BTreeMap<Fund, (Fen, Fen, i64)> = BTreeMap::new();
    for ((fund, month), (income, expenditure, change)) in months {
        let r = running.entry(fund).or_insert((Fen::ZERO, Fen::ZERO, 0));
        r.0 = r.0.saturating_add(change);
        r.1 = r.1.saturating_add(expenditure);
        r.2 += 1;
        let spent = i128::from(r.1.fen());
        let covered = (spent > 0).then(|| (i128::from(r.0.fen()) * 10 * i128::from(r.2) / spent) as i64);
        out.push(MonthFigures { fund, month, income, expenditure, balance: r.0, months_covered_tenths: covered });
    }
    out
}

/// The monthly figures as a workbook: one sheet, every amount written as text to the fen (a
/// text cell is never read as a formula).
pub fn monthly_xlsx(rows: &[MonthFigures]) -> Result<Vec<u8>, InvalidValue> {
    let bad = |e: rust_xlsxwriter::XlsxError| {
        InvalidValue::new("xlsx", "write", format!("导出失败：{e}"), format!("export failed: {e}"))
    };
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let heads =
        ["基金 fund", "月份 month", "收入 income", "支出 expenditure", "累计结存 balance", "可支付月数 months covered"];
    for (c, h) in heads.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).map_err(bad)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        let cells = [
            r.fund.label().zh,
            r.month.clone(),
            r.income.to_plain(),
            r.expenditure.to_plain(),
            r.balance.to_plain(),
            r.months_covered(),
        ];
        for (c, v) in cells.iter().enumerate() {
            sheet.write_string(row, c as u16, v).map_err(bad)?;
        }
    }
    book.save_to_buffer().map_err(bad)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn fund(s: &str) -> Fund {
        Fund::parse(s).unwrap()
    }

    #[test]
    fn an_entry_balances_in_each_fund_and_its_reversal_undoes_it() {
        let (emp, acct) = (fund("620300-310"), fund("620300-310"));
        let res = fund("620300-390");
        let e = Entry::new("settlement", "S1")
            .transfer(res, Account::Benefits, Account::PayableInstitutions, Fen::from_fen(320_000))
            .transfer(acct, Account::PersonalAccounts, Account::PayableInstitutions, Fen::from_fen(14_161))
            .transfer(emp, Account::Benefits, Account::PayableInstitutions, Fen::ZERO);
        assert_eq!(e.postings.len(), 4, "a zero moves nothing");
        assert!(e.unbalanced().is_empty());
        let mut b = Balances::new();
        for p in e.postings.iter().chain(e.clone().reversed("settlement_reversal").postings.iter()) {
            add(&mut b, p.fund, p.account, p.amount);
        }
        assert!(b.values().all(|v| *v == Fen::ZERO), "{b:?}");
        let lopsided = Entry {
            postings: vec![Posting { fund: res, account: Account::Bank, amount: Fen::from_fen(1) }],
            ..Entry::new("x", "y")
        };
        assert_eq!(lopsided.unbalanced(), [(res, Fen::from_fen(1))]);
    }

    #[test]
    fn a_share_out_adds_up_to_the_fen_and_follows_the_weights() {
        let f = Fen::from_fen;
        assert_eq!(allocate(f(100), &[f(1), f(1), f(1)]), [f(34), f(33), f(33)]);
        // Each share is within a fen of its exact proportion, and they add up.
        let weights = [f(30_000_000), f(12_000_000), f(141_461)];
        let shares = allocate(f(2_119_073), &weights);
        assert_eq!(shares.iter().copied().sum::<Fen>(), f(2_119_073));
        for (s, w) in shares.iter().zip(weights) {
            let off = i128::from(s.fen()) * 42_141_461 - 2_119_073 * i128::from(w.fen());
            assert!(off.abs() < 42_141_461, "{s:?} is more than a fen from its share");
        }
        let shares = allocate(f(999), &[f(7), f(-5), f(13)]);
        assert_eq!((shares.iter().copied().sum::<Fen>(), shares[1]), (f(999), f(0)), "a negative weight gets none");
        assert_eq!(allocate(f(5), &[f(0), f(0)]), [f(5), f(0)]);
    }

    #[test]
    fn a_months_figures_are_income_expenditure_and_the_balance_it_leaves() {
        let f = fund("620300-390");
        let mut sums = BTreeMap::new();
        let mut put = |month: &str, account, yuan: i64| {
            sums.insert((f, month.to_string(), account), Fen::from_yuan(yuan));
        };
        // October: 1,000 received, 300 spent (one 20 deducted back); November: 200 spent.
        put("2026-10", Account::Contributions, -1000);
        put("2026-10", Account::Bank, 1000);
        put("2026-10", Account::Benefits, 320);
        put("2026-10", Account::Recovered, -20);
        put("2026-10", Account::PayableInstitutions, -300);
        put("2026-11", Account::Benefits, 200);
        put("2026-11", Account::PayableInstitutions, -200);
        let m = monthly(&sums);
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[0].income, m[0].expenditure, m[0].balance),
            (Fen::from_yuan(1000), Fen::from_yuan(300), Fen::from_yuan(700))
        );
        assert_eq!(m[0].months_covered(), "2.3", "700 over 300 a month");
        assert_eq!(
            (m[1].balance, m[1].months_covered()),
            (Fen::from_yuan(500), "2.0".to_string()),
            "500 over 250 a month"
        );
        let xlsx = monthly_xlsx(&m).unwrap();
        assert!(xlsx.starts_with(b"PK"), "a zip");
    }

    #[test]
    fn a_fund_is_a_scheme_in_a_prefecture() {
        let f = Fund::of("620302".parse().unwrap(), Scheme::Resident);
        assert_eq!(f.to_string(), "620300-390");
        assert_eq!(Fund::parse("620300-390").unwrap(), f);
        assert!(Fund::parse("620300").is_err() && Fund::parse("620300-999").is_err());
    }

    #[test]
    fn each_difference_with_the_records_is_named_with_both_figures() {
        let f = fund("620300-310");
        let mut books = Balances::new();
        add(&mut books, f, Account::PersonalAccounts, Fen::from_fen(-10_000));
        add(&mut books, f, Account::Bank, Fen::from_fen(500));
        let mut expected = Balances::new();
        add(&mut expected, f, Account::PersonalAccounts, Fen::from_fen(-9_000));
        let d = compare(&books, &expected, &[Account::PersonalAccounts]);
        assert_eq!(d.len(), 1, "only the accounts compared: {d:?}");
        assert!(d[0].zh.contains("-100.00") && d[0].zh.contains("-90.00"), "{}", d[0].zh);
        assert!(compare(&books, &books, Account::ALL).is_empty());
    }
}
