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
//! nothing is deducted or withheld from it.

use serde::{Deserialize, Serialize};

use crate::i18n::Text;
use crate::money::Fen;
use crate::ratio::Ratio;

/// A settlement of the period, or a reversal carried in (its amounts negative).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettledLine {
    pub setl_id: String,
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

/// A confirmed finding to deduct (拒付).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deduction {
    /// The finding's id in the store.
    pub finding: i64,
    pub setl_id: Option<String>,
    pub amount: Fen,
    pub reason: Text,
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
    pub deductions: Vec<Deduction>,
    pub deducted: Fen,
    /// Deductions that did not fit, for the next period.
    pub deferred: Vec<Deduction>,
    pub deposit_rate: Ratio,
    pub deposit: Fen,
    /// What is paid to the institution (negative: what it owes the fund).
    pub net: Fen,
    /// Where the institution's declared figures differ from these, each named.
    pub differences: Vec<Text>,
}

/// Builds the statement from the period's lines, the findings to deduct (in the order they
/// were confirmed) and the region's deposit share, comparing the institution's declaration
/// when there is one.
pub fn statement(
    lines: &[SettledLine],
    deductions: &[Deduction],
    deposit_rate: Ratio,
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
    if s.gross.is_positive() {
        for d in deductions {
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
    s.net = s.gross.saturating_sub(s.deducted).saturating_sub(s.deposit);
    if let Some(d) = declared {
        s.differences = compare(&s, d);
    }
    s
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
        SettledLine { setl_id: id.into(), medfee, pooled, critical, account, cash, carried }
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
        let s = statement(&lines, &[deduction(7, "800.00")], five_percent(), None);
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
    fn a_deduction_that_does_not_fit_waits_whole_for_the_next_period() {
        let lines = [line("S1", "1000.00", "600.00", "0.00", "100.00", false)];
        let s = statement(
            &lines,
            &[deduction(1, "500.00"), deduction(2, "300.00"), deduction(3, "200.00")],
            Ratio::ZERO,
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
            medfee: Fen::ZERO.saturating_sub(l.medfee),
            pooled: Fen::ZERO.saturating_sub(l.pooled),
            critical: Fen::ZERO.saturating_sub(l.critical),
            account: Fen::ZERO.saturating_sub(l.account),
            cash: Fen::ZERO.saturating_sub(l.cash),
            carried: true,
        };
        let earlier = line("S1", "3000.00", "1800.00", "0.00", "0.00", true);
        let s = statement(&[settled.clone(), reversed(&earlier)], &[], five_percent(), None);
        assert_eq!((s.settlements, s.carried), (1, 1));
        assert_eq!(s.gross, fen("-300.00"), "1,500 owed, 1,800 carried back");
        let owed = statement(&[settled, reversed(&earlier)], &[deduction(4, "10.00")], five_percent(), None);
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
        assert!(statement(&lines, &[], Ratio::ZERO, Some(&same)).differences.is_empty());
        let other = Declared { psntime: 2, fund_appy_sum: fen("700.00"), ..same };
        let d = statement(&lines, &[], Ratio::ZERO, Some(&other)).differences;
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].zh.contains("机构申报 2，医保结算 1"));
        assert!(d[1].en.contains("fund_appy_sum") && d[1].zh.contains("700.00") && d[1].zh.contains("650.00"));
    }
}
