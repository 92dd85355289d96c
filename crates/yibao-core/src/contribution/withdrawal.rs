//! Withdrawals from an individual account (个人账户支取), where the region's rules allow
//! them: at a clerk's window with the medical insurance card (seed 004: "withdrawn from any
//! business outlet"), the whole balance on leaving the region, and the whole balance to the
//! heirs after death. Each needs its papers, seen by the clerk and named in the request.

use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;
use crate::i18n::Text;

/// Why money leaves an account for a bank card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalReason {
    /// The holder, at a window, part or all of the balance.
    Window,
    /// The holder leaves the region (transfer out, settling abroad): the whole balance.
    LeavingRegion,
    /// The holder died: the whole balance to the heir.
    Death,
}

/// A paper a withdrawal needs: (code, name).
pub type Paper = (&'static str, Text);

impl WithdrawalReason {
    pub const ALL: [WithdrawalReason; 3] =
        [WithdrawalReason::Window, WithdrawalReason::LeavingRegion, WithdrawalReason::Death];

    pub fn code(self) -> &'static str {
        match self {
            WithdrawalReason::Window => "window",
            WithdrawalReason::LeavingRegion => "leaving_region",
            WithdrawalReason::Death => "death",
        }
    }

    pub fn parse(s: &str) -> Result<WithdrawalReason, InvalidValue> {
        Self::ALL.into_iter().find(|r| r.code() == s.trim()).ok_or_else(|| {
            InvalidValue::new(
                "reason",
                "unknown",
                "支取原因应为 window（窗口支取）、leaving_region（转出统筹区）或 death（身故继承）",
                "the reason is window, leaving_region or death",
            )
        })
    }

    pub fn label(self) -> Text {
        match self {
            WithdrawalReason::Window => Text::new("窗口支取", "withdrawal at the window"),
            WithdrawalReason::LeavingRegion => Text::new("转出统筹区一次性支取", "leaving the region"),
            WithdrawalReason::Death => Text::new("身故继承", "to the heir after death"),
        }
    }

    /// Whether the whole balance is withdrawn (the account is settled for good).
    pub fn whole_balance(self) -> bool {
        !matches!(self, WithdrawalReason::Window)
    }

    /// Whether the money goes to an heir rather than the holder.
    pub fn to_heir(self) -> bool {
        matches!(self, WithdrawalReason::Death)
    }

    /// The papers the clerk must see.
    pub fn papers(self) -> Vec<Paper> {
        let card = ("card", Text::new("社会保障卡（医保卡）", "the social security (medical insurance) card"));
        let id = ("id_card", Text::new("本人居民身份证", "the holder's resident ID card"));
        match self {
            WithdrawalReason::Window => vec![card, id],
            WithdrawalReason::LeavingRegion => vec![
                id,
                card,
                (
                    "leaving_proof",
                    Text::new(
                        "户口迁出证明、异地就业证明或出国（境）定居证明",
                        "proof of leaving: hukou moved out, work elsewhere, or settling abroad",
                    ),
                ),
            ],
            WithdrawalReason::Death => vec![
                ("death_certificate", Text::new("死亡证明", "the death certificate")),
                ("heir_id", Text::new("继承人居民身份证", "the heir's resident ID card")),
                (
                    "kinship_proof",
                    Text::new(
                        "继承关系证明（户口簿、公证书或法院文书）",
                        "proof of the heir's right (household register, notarised deed or court ruling)",
                    ),
                ),
                ("heir_bank_card", Text::new("继承人本人银行卡", "the heir's own bank card")),
            ],
        }
    }

    /// The papers of `seen` this reason needs and are missing, named.
    pub fn missing_papers(self, seen: &[String]) -> Vec<Text> {
        self.papers().into_iter().filter(|(code, _)| !seen.iter().any(|s| s == code)).map(|(_, name)| name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_names_its_papers() {
        for r in WithdrawalReason::ALL {
            assert_eq!(WithdrawalReason::parse(r.code()), Ok(r));
            let all: Vec<String> = r.papers().iter().map(|(c, _)| (*c).to_string()).collect();
            assert!(r.missing_papers(&all).is_empty());
        }
        let missing = WithdrawalReason::Death.missing_papers(&["death_certificate".into(), "heir_id".into()]);
        let names: Vec<&str> = missing.iter().map(|t| t.zh.as_str()).collect();
        assert_eq!(names, ["继承关系证明（户口簿、公证书或法院文书）", "继承人本人银行卡"]);
        assert!(WithdrawalReason::Death.to_heir() && WithdrawalReason::LeavingRegion.whole_balance());
        assert!(!WithdrawalReason::Window.whole_balance());
        assert!(WithdrawalReason::parse("cash").is_err());
    }
}
