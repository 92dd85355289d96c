//! Clearing with designated institutions (清算): what the fund owes an institution for a
//! period, built from yibao's own settlements — never from the institution's figures, which
//! are only compared — per fund: the pooled fund (统筹基金), critical illness insurance
//! (大病保险 / 大额医疗补助) and the individual accounts (own and 门诊共济), each of which the
//! agency advanced through the institution at the counter.
//!
//! From what is owed, confirmed supervision findings are deducted (拒付), each with its
//! reason, in the order they were confirmed and only while they fit: a deduction larger than
//! what is left waits for the next period whole. Then the quality guarantee deposit
//! (质量保证金) is withheld: the region's share of what is left, rounded half up to the fen,
//! once. A settlement reversed after its period was cleared is carried into the next one as a
//! negative line; a period whose reversals outweigh its settlements owes the fund, and
//! nothing is deducted or withheld from it (the store carries a reversal only while it fits, so
//! a stored clearing never does). A deduction taken from a settlement whose reversal is carried
//! in is given back (a negative deduction), so that the institution does not lose it twice.
//! The institution's declared figures (3203) are compared with
//! the period's own settlements, as 3201 totals them.
//!
//! The deposit is held until the institution's annual assessment (年度考核): its score
//! releases a share of what that year's clearings withheld (the region's bands), which the
//! next clearing pays with what it owes; the rest is forfeited to the fund.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::adjudicate::Totals;
use crate::i18n::Text;
use crate::money::Fen;
use crate::ratio::Ratio;
use crate::registry::Scheme;
use crate::settlement::{funds, FundRow};

/// How a region clears with its designated institutions (regional parameters, part of the
/// region's claim rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClearingRules {
    /// Months in a clearing period: 1 (monthly, the default), 2, 3, 4, 6 or 12; periods start
    /// in January.
    #[serde(default = "monthly")]
    pub period_months: u32,
    /// The quality guarantee deposit (质量保证金) withheld from what is paid, until the
    /// annual assessment.
    #[serde(default)]
    pub deposit: Ratio,
    /// How much of a year's deposit the annual assessment's score releases: the first band,
    /// from the highest, whose minimum the score reaches; below every band, nothing.
    #[serde(default = "release_bands")]
    pub release: Vec<ReleaseBand>,
}

/// A step of the deposit's release: a score of `min_score` or more releases `share`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBand {
    pub min_score: u32,
    pub share: Ratio,
}

fn monthly() -> u32 {
    1
}

/// 90 points or more release the whole deposit, 80 four fifths, 70 half, less nothing.
fn release_bands() -> Vec<ReleaseBand> {
    [(90, 10_000), (80, 8_000), (70, 5_000)]
        .into_iter()
        .map(|(min_score, bp)| ReleaseBand { min_score, share: Ratio::from_bp(bp).unwrap_or(Ratio::ZERO) })
        .collect()
}

impl Default for ClearingRules {
    fn default() -> Self {
        ClearingRules { period_months: 1, deposit: Ratio::ZERO, release: release_bands() }
    }
}

impl ClearingRules {
    /// Whether the period divides the year, and each release band is a score out of 100
    /// releasing at most the whole deposit.
    pub fn is_valid(&self) -> bool {
        matches!(self.period_months, 1 | 2 | 3 | 4 | 6 | 12)
            && self.release.iter().all(|b| b.min_score <= 100 && b.share <= Ratio::ONE)
    }

    /// The share of the deposit an assessment scoring `score` (out of 100) releases.
    pub fn release_share(&self, score: u32) -> Ratio {
        self.release
            .iter()
            .filter(|b| score >= b.min_score)
            .max_by_key(|b| b.min_score)
            .map_or(Ratio::ZERO, |b| b.share)
    }

    /// The period `day` falls in: its first and last day.
    pub fn period_of(&self, day: NaiveDate) -> (NaiveDate, NaiveDate) {
        let months = if self.is_valid() { self.period_months } else { 1 };
        let first_month = (day.month0() / months) * months + 1;
        let start = NaiveDate::from_ymd_opt(day.year(), first_month, 1).unwrap_or(day);
        let end = start.checked_add_months(Months::new(months)).and_then(|d| d.pred_opt()).unwrap_or(day);
        (start, end)
    }

    /// The period before the one `day` falls in.
    pub fn previous_period(&self, day: NaiveDate) -> (NaiveDate, NaiveDate) {
        let (start, _) = self.period_of(day);
        self.period_of(start.pred_opt().unwrap_or(start))
    }
}

/// Where a clearing is: applied for by the institution (its statement built, objections
/// open to it), reviewed by an auditor (every objection decided), approved by finance (its
/// payment order made), or cancelled by the institution before review (3204).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClearingState {
    Applied,
    Reviewed,
    Approved,
    Cancelled,
}

impl ClearingState {
    pub fn code(self) -> &'static str {
        match self {
            ClearingState::Applied => "applied",
            ClearingState::Reviewed => "reviewed",
            ClearingState::Approved => "approved",
            ClearingState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<ClearingState, crate::InvalidValue> {
        match s {
            "applied" => Ok(ClearingState::Applied),
            "reviewed" => Ok(ClearingState::Reviewed),
            "approved" => Ok(ClearingState::Approved),
            "cancelled" => Ok(ClearingState::Cancelled),
            other => Err(crate::InvalidValue::new(
                "state",
                "unknown",
                format!("未知的清算状态“{other}”"),
                format!("unknown clearing state \"{other}\""),
            )),
        }
    }

    pub fn label(self) -> Text {
        match self {
            ClearingState::Applied => Text::new("已申请，待审核", "applied for, to be reviewed"),
            ClearingState::Reviewed => Text::new("已审核，待财务核准", "reviewed, for finance to approve"),
            ClearingState::Approved => Text::new("已核准拨付", "approved for payment"),
            ClearingState::Cancelled => Text::new("已撤销", "cancelled"),
        }
    }
}

/// A settlement of the period, or a reversal carried in (its amounts negative).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettledLine {
    pub setl_id: String,
    /// The person's scheme: which funds paid.
    pub scheme: Scheme,
    pub medfee: Fen,
    /// The pooled fund (`hifp_pay`).
    pub pooled: Fen,
    /// Critical illness insurance (`hifmi_pay` + `hifob_pay`).
    pub critical: Fen,
    /// Individual accounts (`acct_pay` + `acct_mulaid_pay`).
    pub account: Fen,
    pub cash: Fen,
    /// A reversal of a settlement cleared in an earlier period.
    pub carried: bool,
}

/// A confirmed finding to deduct (拒付); or, with a negative amount, a deduction given
/// back because the settlement it was taken from was reversed and the reversal is carried
/// in (the reversal takes back the settlement's whole fund share).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deduction {
    /// The finding's id in the store.
    pub finding: i64,
    pub setl_id: Option<String>,
    pub amount: Fen,
    pub reason: Text,
}

/// The deposit of a year released after the institution's annual assessment, paid with
/// this clearing: `share` of what that year's clearings held and no clearing released yet;
/// the rest is forfeited to the fund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub year: i32,
    pub score: u32,
    pub share: Ratio,
    pub held: Fen,
    pub released: Fen,
    pub forfeited: Fen,
}

impl Release {
    pub fn new(year: i32, score: u32, share: Ratio, held: Fen) -> Release {
        let released = share.of(held).min(held);
        Release { year, score, share, held, released, forfeited: held.saturating_sub(released) }
    }

    /// The statement's line: what is released, by which assessment, and what is forfeited.
    pub fn describe(&self) -> Text {
        let (year, score, share, forfeited) =
            (self.year, self.score, self.share.percent(), self.forfeited.to_grouped());
        Text::new(
            format!("返还质量保证金（{year} 年度考核 {score} 分，返还 {share}，不予返还 {forfeited} 元转入基金）"),
            format!("Deposit released ({year} assessed at {score} points: {share} released, {forfeited} forfeited to the fund)"),
        )
    }
}

/// What the institution declares when it applies (3203: `psntime`, `medfee_sumamt`,
/// `fund_appy_sum`, `acct_pay`, `cash_payamt`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declared {
    pub psntime: i64,
    pub medfee_sumamt: Fen,
    pub fund_appy_sum: Fen,
    pub acct_pay: Fen,
    pub cash_payamt: Fen,
}

/// The clearing statement of one institution and period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Settlements of the period, and reversals carried in.
    pub settlements: i64,
    pub carried: i64,
    pub medfee: Fen,
    pub pooled: Fen,
    pub critical: Fen,
    pub account: Fen,
    pub cash: Fen,
    /// What the fund owes before deductions: pooled + critical + account.
    pub gross: Fen,
    /// The same by fund (`fund_pay_type`: each scheme's pooled and critical illness funds,
    /// the individual accounts), in the platform's order.
    pub funds: Vec<FundRow>,
    pub deductions: Vec<Deduction>,
    pub deducted: Fen,
    /// Deductions that did not fit, for the next period.
    pub deferred: Vec<Deduction>,
    pub deposit_rate: Ratio,
    pub deposit: Fen,
    /// Deposits of earlier years released after their assessment, paid with this clearing.
    #[serde(default)]
    pub releases: Vec<Release>,
    #[serde(default)]
    pub released: Fen,
    /// What is paid to the institution: gross − deducted − deposit + released (negative:
    /// what it owes the fund).
    pub net: Fen,
    /// Where the institution's declared figures differ from these, each named.
    pub differences: Vec<Text>,
}

/// What is missing from the account an institution is paid to: its name and its bank (the
/// number itself is checked by [`crate::bank_card::BankCardNumber::corporate`]).
pub fn account_problems(account_name: &str, bank_name: &str) -> Vec<crate::InvalidValue> {
    let mut problems = Vec::new();
    if account_name.trim().is_empty() {
        problems.push(crate::InvalidValue::new(
            "account_name",
            "required",
            "请填写账户名称",
            "give the account's name",
        ));
    }
    if bank_name.trim().is_empty() {
        problems.push(crate::InvalidValue::new("bank_name", "required", "请填写开户银行", "give the bank"));
    }
    problems
}

/// Builds the statement from the period's lines, the findings to deduct (in the order they
/// were confirmed), the region's deposit share and the deposits released by assessments,
/// comparing the institution's declaration when there is one.
pub fn statement(
    lines: &[SettledLine],
    deductions: &[Deduction],
    deposit_rate: Ratio,
    releases: &[Release],
    declared: Option<&Declared>,
) -> Statement {
    let sum = |f: fn(&SettledLine) -> Fen| lines.iter().map(f).sum::<Fen>();
    let mut s = Statement {
        settlements: lines.iter().filter(|l| !l.carried).count() as i64,
        carried: lines.iter().filter(|l| l.carried).count() as i64,
        medfee: sum(|l| l.medfee),
        pooled: sum(|l| l.pooled),
        critical: sum(|l| l.critical),
        account: sum(|l| l.account),
        cash: sum(|l| l.cash),
        deposit_rate,
        ..Statement::default()
    };
    s.gross = s.pooled.saturating_add(s.critical).saturating_add(s.account);
    s.funds = by_fund(lines);
    if s.gross.is_positive() {
        // A deduction given back (its settlement reversed and carried in) always fits.
        for d in deductions.iter().filter(|d| d.amount.is_negative()) {
            s.deducted = s.deducted.saturating_add(d.amount);
            s.deductions.push(d.clone());
        }
        for d in deductions.iter().filter(|d| !d.amount.is_negative()) {
            if d.amount.is_positive() && s.deducted.saturating_add(d.amount) <= s.gross {
                s.deducted = s.deducted.saturating_add(d.amount);
                s.deductions.push(d.clone());
            } else {
                s.deferred.push(d.clone());
            }
        }
        s.deposit = deposit_rate.of(s.gross.saturating_sub(s.deducted));
    } else {
        s.deferred = deductions.to_vec();
    }
    s.releases = releases.to_vec();
    s.released = releases.iter().map(|r| r.released).sum();
    s.net = s.gross.saturating_sub(s.deducted).saturating_sub(s.deposit).saturating_add(s.released);
    if let Some(d) = declared {
        // The institution declares the period's own settlements (as 3201 totals them), not
        // the reversals carried in.
        let own: Vec<SettledLine> = lines.iter().filter(|l| !l.carried).cloned().collect();
        let period = if own.len() == lines.len() { s.clone() } else { statement(&own, &[], Ratio::ZERO, &[], None) };
        s.differences = compare(&period, d);
    }
    s
}

/// The lines' amounts by fund: each line's funds as its settlement list names them, summed.
fn by_fund(lines: &[SettledLine]) -> Vec<FundRow> {
    let mut out: Vec<FundRow> = Vec::new();
    for l in lines {
        let t = Totals {
            hifp_pay: l.pooled,
            hifmi_pay: l.critical,
            hifob_pay: l.critical,
            acct_pay: l.account,
            ..Totals::default()
        };
        for row in funds(l.scheme, &t) {
            match out.iter_mut().find(|r| r.fund_pay_type == row.fund_pay_type) {
                Some(r) => r.amount = r.amount.saturating_add(row.amount),
                None => out.push(row),
            }
        }
    }
    out.retain(|r| r.amount != Fen::ZERO);
    out.sort_by(|a, b| a.fund_pay_type.cmp(&b.fund_pay_type));
    out
}

/// Each of the institution's figures that differs from the statement's, with both.
fn compare(s: &Statement, d: &Declared) -> Vec<Text> {
    let mut out = Vec::new();
    if d.psntime != s.settlements {
        out.push(Text::new(
            format!("清算人次：机构申报 {}，医保结算 {}", d.psntime, s.settlements),
            format!("settlements: the institution declares {}, yibao settled {}", d.psntime, s.settlements),
        ));
    }
    let fund = s.pooled.saturating_add(s.critical);
    for (zh, en, theirs, ours) in [
        ("医疗费总额", "medfee_sumamt", d.medfee_sumamt, s.medfee),
        ("基金申报总额", "fund_appy_sum", d.fund_appy_sum, fund),
        ("个人账户支出", "acct_pay", d.acct_pay, s.account),
        ("现金支付金额", "cash_payamt", d.cash_payamt, s.cash),
    ] {
        if theirs != ours {
            out.push(Text::new(
                format!("{zh}：机构申报 {} 元，医保核定 {} 元", theirs.to_grouped(), ours.to_grouped()),
                format!(
                    "{en}: the institution declares {}, yibao's settlements {}",
                    theirs.to_grouped(),
                    ours.to_grouped()
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn fen(s: &str) -> Fen {
        s.parse().unwrap()
    }

    fn line(id: &str, medfee: &str, pooled: &str, critical: &str, account: &str, carried: bool) -> SettledLine {
        let medfee = fen(medfee);
        let (pooled, critical, account) = (fen(pooled), fen(critical), fen(account));
        let cash = medfee.saturating_sub(pooled).saturating_sub(critical).saturating_sub(account);
        SettledLine { setl_id: id.into(), scheme: Scheme::Employee, medfee, pooled, critical, account, cash, carried }
    }

    fn deduction(finding: i64, amount: &str) -> Deduction {
        Deduction {
            finding,
            setl_id: None,
            amount: fen(amount),
            reason: Text::new("挂床住院", "bed without treatment"),
        }
    }

    fn five_percent() -> Ratio {
        Ratio::from_bp(500).unwrap()
    }

    #[test]
    fn the_fund_owes_each_funds_share_less_deductions_and_the_deposit() {
        let lines = [
            line("S1", "5271.95", "3200.00", "0.00", "1414.61", false),
            line("S2", "480000.00", "300000.00", "120000.00", "0.00", false),
        ];
        let s = statement(&lines, &[deduction(7, "800.00")], five_percent(), &[], None);
        assert_eq!((s.settlements, s.carried), (2, 0));
        assert_eq!((s.pooled, s.critical, s.account), (fen("303200.00"), fen("120000.00"), fen("1414.61")));
        assert_eq!(s.gross, fen("424614.61"));
        assert_eq!(s.deducted, fen("800.00"));
        // 5 % of 423,814.61 = 21,190.7305: rounded half up once.
        assert_eq!(s.deposit, fen("21190.73"));
        assert_eq!(s.net, fen("402623.88"));
        assert_eq!(s.gross.fen(), s.net.fen() + s.deducted.fen() + s.deposit.fen(), "conserved to the fen");
        assert_eq!(s.medfee.fen(), s.gross.fen() + s.cash.fen());
    }

    #[test]
    fn an_assessment_releases_its_bands_share_of_the_years_deposit_and_the_clearing_pays_it() {
        let rules = ClearingRules::default();
        let share = |score| rules.release_share(score).bp();
        assert_eq!(
            [share(100), share(90), share(89), share(80), share(75), share(70), share(69), share(0)],
            [10_000, 10_000, 8_000, 8_000, 5_000, 5_000, 0, 0]
        );
        // 4/5 of 21,190.73 = 16,952.584: rounded once; the rest forfeited, to the fen.
        let r = Release::new(2025, 84, rules.release_share(84), fen("21190.73"));
        assert_eq!((r.released, r.forfeited), (fen("16952.58"), fen("4238.15")));
        let lines = [line("S1", "1000.00", "600.00", "0.00", "100.00", false)];
        let s = statement(&lines, &[], five_percent(), std::slice::from_ref(&r), None);
        assert_eq!((s.gross, s.deposit, s.released), (fen("700.00"), fen("35.00"), fen("16952.58")));
        assert_eq!(s.net, fen("17617.58"), "700 − 35 + 16,952.58");
        // A clearing of nothing but a release pays the release.
        let only = statement(&[], &[], five_percent(), &[r], None);
        assert_eq!((only.gross, only.deposit, only.net), (Fen::ZERO, Fen::ZERO, fen("16952.58")));
        let bad = ClearingRules { release: vec![ReleaseBand { min_score: 101, share: Ratio::ONE }], ..rules };
        assert!(!bad.is_valid());
    }

    #[test]
    fn a_deduction_from_a_reversed_settlement_is_given_back_with_the_reversal() {
        let settled = line("S9", "2000.00", "1200.00", "0.00", "300.00", false);
        let earlier = SettledLine {
            medfee: fen("-1000.00"),
            pooled: fen("-600.00"),
            cash: fen("-400.00"),
            ..line("S1", "0.00", "0.00", "0.00", "0.00", true)
        };
        let back = Deduction { amount: fen("-25.00"), setl_id: Some("S1".into()), ..deduction(3, "0") };
        // The refund comes first, so a deduction that fits only with it is taken.
        let s = statement(&[settled, earlier], &[deduction(4, "920.00"), back], Ratio::ZERO, &[], None);
        assert_eq!(s.gross, fen("900.00"));
        assert_eq!(s.deductions.iter().map(|d| d.finding).collect::<Vec<_>>(), [3, 4]);
        assert_eq!((s.deducted, s.net), (fen("895.00"), fen("5.00")));
    }

    #[test]
    fn periods_start_in_january_and_a_quarter_holds_three_months() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let monthly = ClearingRules::default();
        assert_eq!(monthly.period_of(d("2026-02-14")), (d("2026-02-01"), d("2026-02-28")));
        assert_eq!(monthly.previous_period(d("2026-01-05")), (d("2025-12-01"), d("2025-12-31")));
        let quarterly = ClearingRules { period_months: 3, ..monthly.clone() };
        assert_eq!(quarterly.period_of(d("2026-05-31")), (d("2026-04-01"), d("2026-06-30")));
        assert_eq!(quarterly.previous_period(d("2026-05-31")), (d("2026-01-01"), d("2026-03-31")));
        assert!(!ClearingRules { period_months: 5, ..monthly }.is_valid());
    }

    #[test]
    fn each_fund_is_shown_by_scheme_and_the_funds_add_up_to_the_gross() {
        let resident =
            SettledLine { scheme: Scheme::Resident, ..line("S3", "90000.00", "50000.00", "20000.00", "300.00", false) };
        let lines = [line("S1", "5000.00", "3000.00", "1000.00", "500.00", false), resident];
        let s = statement(&lines, &[], Ratio::ZERO, &[], None);
        let funds: Vec<(&str, Fen)> = s.funds.iter().map(|f| (f.fund_pay_type.as_str(), f.amount)).collect();
        assert_eq!(
            funds,
            [
                ("310100", fen("3000.00")),
                ("310200", fen("800.00")),
                ("330100", fen("1000.00")),
                ("390100", fen("50000.00")),
                ("390200", fen("20000.00"))
            ],
            "a family account paying a resident's visit is the employee accounts' money"
        );
        assert_eq!(s.funds.iter().map(|f| f.amount).sum::<Fen>(), s.gross);
    }

    #[test]
    fn a_deduction_that_does_not_fit_waits_whole_for_the_next_period() {
        let lines = [line("S1", "1000.00", "600.00", "0.00", "100.00", false)];
        let s = statement(
            &lines,
            &[deduction(1, "500.00"), deduction(2, "300.00"), deduction(3, "200.00")],
            Ratio::ZERO,
            &[],
            None,
        );
        assert_eq!(s.gross, fen("700.00"));
        assert_eq!(s.deductions.iter().map(|d| d.finding).collect::<Vec<_>>(), [1, 3], "the second does not fit");
        assert_eq!(s.deferred.iter().map(|d| d.finding).collect::<Vec<_>>(), [2]);
        assert_eq!((s.deducted, s.deposit, s.net), (fen("700.00"), Fen::ZERO, Fen::ZERO));
    }

    #[test]
    fn a_reversal_carried_in_is_taken_off_and_may_leave_the_institution_owing() {
        let settled = line("S9", "2000.00", "1200.00", "0.00", "300.00", false);
        let reversed = |l: &SettledLine| SettledLine {
            setl_id: l.setl_id.clone(),
            scheme: l.scheme,
            medfee: Fen::ZERO.saturating_sub(l.medfee),
            pooled: Fen::ZERO.saturating_sub(l.pooled),
            critical: Fen::ZERO.saturating_sub(l.critical),
            account: Fen::ZERO.saturating_sub(l.account),
            cash: Fen::ZERO.saturating_sub(l.cash),
            carried: true,
        };
        let earlier = line("S1", "3000.00", "1800.00", "0.00", "0.00", true);
        let s = statement(&[settled.clone(), reversed(&earlier)], &[], five_percent(), &[], None);
        assert_eq!((s.settlements, s.carried), (1, 1));
        assert_eq!(s.gross, fen("-300.00"), "1,500 owed, 1,800 carried back");
        let owed = statement(&[settled, reversed(&earlier)], &[deduction(4, "10.00")], five_percent(), &[], None);
        assert_eq!((owed.deposit, owed.deducted, owed.net), (Fen::ZERO, Fen::ZERO, fen("-300.00")));
        assert_eq!(owed.deferred.len(), 1, "nothing deducted from a period that owes the fund");
    }

    #[test]
    fn each_declared_figure_that_differs_is_named_with_both() {
        let lines = [line("S1", "1000.00", "600.00", "50.00", "100.00", false)];
        let same = Declared {
            psntime: 1,
            medfee_sumamt: fen("1000.00"),
            fund_appy_sum: fen("650.00"),
            acct_pay: fen("100.00"),
            cash_payamt: fen("250.00"),
        };
        assert!(statement(&lines, &[], Ratio::ZERO, &[], Some(&same)).differences.is_empty());
        // A reversal carried in is not the institution's to declare for the period.
        let carried = SettledLine { carried: true, ..line("S0", "-300.00", "-200.00", "0.00", "0.00", true) };
        let with_carried = [lines[0].clone(), carried];
        assert!(statement(&with_carried, &[], Ratio::ZERO, &[], Some(&same)).differences.is_empty());
        let other = Declared { psntime: 2, fund_appy_sum: fen("700.00"), ..same };
        let d = statement(&lines, &[], Ratio::ZERO, &[], Some(&other)).differences;
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].zh.contains("机构申报 2，医保结算 1"));
        assert!(d[1].en.contains("fund_appy_sum") && d[1].zh.contains("700.00") && d[1].zh.contains("650.00"));
    }
}
