//! A purchase at a designated retail pharmacy (定点零售药店, the platform's 2101–2103): what
//! the individual account pays and what the buyer pays in cash. The account pays only for
//! what is in the catalog (甲类 and 乙类; 丙类 and what the catalog lacks are the buyer's own),
//! the buyer's own account first, then — under 门诊共济 — the account of a family member who
//! authorised the buyer. Pure: the caller reads the balances and the catalog.

use serde::Serialize;

use crate::i18n::Text;
use crate::money::Fen;

/// How a purchase is paid, to the fen: `acct_pay + acct_mulaid_pay + psn_cash_pay ==
/// medfee_sumamt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PharmacySplit {
    pub medfee_sumamt: Fen,
    /// 符合范围金额: what the account may pay for.
    pub inscp_amt: Fen,
    /// From the buyer's own account.
    pub acct_pay: Fen,
    /// 共济账户支付: from the family member's account.
    pub acct_mulaid_pay: Fen,
    pub psn_cash_pay: Fen,
}

impl PharmacySplit {
    /// Why the purchase is split so, in both languages.
    pub fn explain(&self) -> Text {
        Text::new(
            format!(
                "费用 {} 元，其中目录内 {} 元可用个人账户：本人账户支付 {} 元，共济账户支付 {} 元，现金支付 {} 元",
                self.medfee_sumamt.to_grouped(),
                self.inscp_amt.to_grouped(),
                self.acct_pay.to_grouped(),
                self.acct_mulaid_pay.to_grouped(),
                self.psn_cash_pay.to_grouped()
            ),
            format!(
                "{} in all, {} of it in the catalog and payable from an account: {} from the buyer's own, {} from the family member's, {} in cash",
                self.medfee_sumamt.to_grouped(),
                self.inscp_amt.to_grouped(),
                self.acct_pay.to_grouped(),
                self.acct_mulaid_pay.to_grouped(),
                self.psn_cash_pay.to_grouped()
            ),
        )
    }
}

/// Splits a purchase whose lines are `(amount, in_catalog)`: with `use_account`, the buyer's
/// `own` balance pays for the catalog's part first, then the `family` balance; the rest is
/// cash. No account is drawn below zero.
pub fn split(lines: &[(Fen, bool)], use_account: bool, own: Fen, family: Fen) -> PharmacySplit {
    let medfee_sumamt: Fen = lines.iter().map(|(a, _)| *a).sum();
    let inscp_amt: Fen = lines.iter().filter(|(_, c)| *c).map(|(a, _)| *a).sum();
    let (acct_pay, acct_mulaid_pay) = if use_account {
        let own_pay = inscp_amt.min(own.max(Fen::ZERO));
        let rest = inscp_amt.saturating_sub(own_pay);
        (own_pay, rest.min(family.max(Fen::ZERO)))
    } else {
        (Fen::ZERO, Fen::ZERO)
    };
    let psn_cash_pay = medfee_sumamt.saturating_sub(acct_pay).saturating_sub(acct_mulaid_pay);
    PharmacySplit { medfee_sumamt, inscp_amt, acct_pay, acct_mulaid_pay, psn_cash_pay }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(s: &str) -> Fen {
        s.parse().unwrap_or_default()
    }

    /// (lines, use account, own balance, family balance) → (in catalog, own, family, cash)
    type Row = (&'static [(&'static str, bool)], bool, &'static str, &'static str, [&'static str; 4]);

    #[test]
    fn own_account_first_then_the_familys_then_cash() {
        let table: &[Row] = &[
            (&[("30.00", true), ("12.50", false)], true, "100.00", "0", ["30.00", "30.00", "0", "12.50"]),
            (&[("30.00", true), ("12.50", false)], true, "10.00", "0", ["30.00", "10.00", "0", "32.50"]),
            (&[("30.00", true), ("12.50", false)], true, "10.00", "15.00", ["30.00", "10.00", "15.00", "17.50"]),
            (&[("30.00", true), ("12.50", false)], true, "0", "500.00", ["30.00", "0", "30.00", "12.50"]),
            (&[("30.00", true)], false, "500.00", "500.00", ["30.00", "0", "0", "30.00"]),
            (&[("0.01", true), ("0.02", true)], true, "0.02", "0.00", ["0.03", "0.02", "0", "0.01"]),
        ];
        for (lines, use_account, own, family, want) in table {
            let lines: Vec<(Fen, bool)> = lines.iter().map(|(a, c)| (y(a), *c)).collect();
            let s = split(&lines, *use_account, y(own), y(family));
            assert_eq!([s.inscp_amt, s.acct_pay, s.acct_mulaid_pay, s.psn_cash_pay], want.map(y), "{lines:?}");
            assert_eq!(
                [s.acct_pay, s.acct_mulaid_pay, s.psn_cash_pay].into_iter().sum::<Fen>(),
                s.medfee_sumamt,
                "conserved"
            );
        }
        let text = split(&[(y("30.00"), true)], true, y("10.00"), y("5.00")).explain();
        assert!(text.zh.contains("共济账户支付 5.00 元") && text.en.contains("5.00 from the family"), "{text:?}");
    }
}
