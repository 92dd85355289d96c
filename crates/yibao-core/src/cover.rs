//! The one question every later step asks — "on this date, at this institution, what cover
//! does this person have, and why?" — answered by [`cover_on`] from the person's enrolment,
//! their social security card, their off-site filings (异地就医备案) and the institution's
//! designation. Pure: the caller loads the facts, this decides.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::adjudicate::Filing;
use crate::admin_code::AdminCode;
use crate::contribution::months::Standing;
use crate::i18n::Text;
use crate::registry::PersonStatus;

/// 备案类型, as the 2022 national rule on cross-province direct settlement groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilingType {
    /// 异地安置退休
    RetireeResettled,
    /// 异地长期居住
    LongTermResident,
    /// 常驻异地工作
    PostedWorker,
    /// 转诊转院
    Referral,
    /// 急诊抢救
    Emergency,
    /// 其他临时外出就医
    TemporaryOther,
}

impl FilingType {
    /// The group the engine's ratio reduction is set for.
    pub fn group(self) -> Filing {
        match self {
            FilingType::RetireeResettled | FilingType::LongTermResident | FilingType::PostedWorker => {
                Filing::LongTermResidence
            }
            FilingType::Referral => Filing::Referral,
            FilingType::Emergency => Filing::Emergency,
            FilingType::TemporaryOther => Filing::TemporaryOther,
        }
    }

    pub fn label(self) -> Text {
        match self {
            FilingType::RetireeResettled => Text::new("异地安置退休", "retiree resettled elsewhere"),
            FilingType::LongTermResident => Text::new("异地长期居住", "long-term resident elsewhere"),
            FilingType::PostedWorker => Text::new("常驻异地工作", "worker posted elsewhere"),
            FilingType::Referral => Text::new("转诊转院", "referral"),
            FilingType::Emergency => Text::new("急诊抢救", "emergency treatment"),
            FilingType::TemporaryOther => Text::new("其他临时外出就医", "other temporary travel"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilingStatus {
    Applied,
    Approved,
    Rejected,
    Revoked,
    /// Shown for an approved filing past its end; never stored (see `FilingStatus::on`).
    Expired,
}

/// An off-site filing as far as cover is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilingFacts {
    pub id: i64,
    pub kind: FilingType,
    /// A province or prefecture; `None` for the whole country.
    pub destination: Option<AdminCode>,
    /// Only this institution (`fixmedins_code`), where the filing names one.
    pub institution: Option<String>,
    pub start: NaiveDate,
    /// The last day covered; `None` until revoked or changed (long-term filings).
    pub end: Option<NaiveDate>,
    pub status: FilingStatus,
    /// The first day no longer covered, for a revoked filing.
    pub revoked_from: Option<NaiveDate>,
}

impl FilingFacts {
    /// Whether the filing covers treatment on `date` at an institution in `region`.
    fn covers(&self, date: NaiveDate, region: AdminCode, institution: &str) -> bool {
        let in_time = self.start <= date && self.end.is_none_or(|e| date <= e);
        let not_revoked = match self.status {
            FilingStatus::Approved => true,
            FilingStatus::Revoked => self.revoked_from.is_some_and(|r| date < r),
            FilingStatus::Applied | FilingStatus::Rejected | FilingStatus::Expired => false,
        };
        let place = self.destination.is_none_or(|d| d.contains(region));
        let named = self.institution.as_deref().is_none_or(|c| c == institution);
        in_time && not_revoked && place && named
    }
}

/// 社会保障卡 state on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardState {
    Active,
    /// 挂失
    Lost,
    /// 损坏
    Damaged,
    /// Applied for, not yet collected (or none at all).
    None,
}

impl CardState {
    /// The stable code (as serialised): `active`, `lost`, `damaged`, `none`.
    pub fn code(self) -> &'static str {
        match self {
            CardState::Active => "active",
            CardState::Lost => "lost",
            CardState::Damaged => "damaged",
            CardState::None => "none",
        }
    }

    pub fn label(self) -> Text {
        match self {
            CardState::Active => Text::new("正常", "active"),
            CardState::Lost => Text::new("已挂失", "reported lost"),
            CardState::Damaged => Text::new("已损坏", "reported damaged"),
            CardState::None => Text::new("无可用社保卡", "no card in use"),
        }
    }
}

/// What `cover_on` is told.
#[derive(Debug, Clone)]
pub struct CoverFacts<'a> {
    /// 参保地.
    pub insured_region: AdminCode,
    pub status: PersonStatus,
    pub status_from: NaiveDate,
    pub card: CardState,
    /// An agency's no-card certificate (无卡证明) valid on the date lets the hospital admit
    /// and settle without the card.
    pub no_card_certificate: bool,
    pub institution_code: &'a str,
    pub institution_region: AdminCode,
    pub designated_from: Option<NaiveDate>,
    pub designated_to: Option<NaiveDate>,
    pub filings: &'a [FilingFacts],
    /// Where the person stands with contributions on the date (cover follows payment);
    /// `None` where the region keeps no contributions for the year, and for a retiree.
    pub contribution: Option<Standing>,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "cover", rename_all = "snake_case")]
pub enum CoverKind {
    /// Within the person's pooling region, at a designated institution.
    Local,
    /// Off-site under a filing.
    Filed { filing_id: i64, kind: FilingType, group: Filing, until: Option<NaiveDate> },
    /// Off-site without a filing: the region's rule decides (refused, or a lower ratio).
    NotFiled,
    /// No cover at all.
    Refused,
}

/// The answer, with the reasons in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cover {
    pub kind: CoverKind,
    /// A stable code for the reason (`local_designated`, `filed`, `not_filed`,
    /// `not_insured`, `contribution_arrears`, `contribution_waiting`, `contribution_unpaid`,
    /// `card_lost`, `card_damaged`, `no_card`, `not_designated`).
    pub code: &'static str,
    pub reason: Text,
    /// Whether the hospital may settle directly (a card, or a no-card certificate).
    pub direct_settlement: bool,
}

fn refused(code: &'static str, zh: String, en: String) -> Cover {
    Cover { kind: CoverKind::Refused, code, reason: Text::new(zh, en), direct_settlement: false }
}

/// On `date`, at the institution in `facts`, what cover does the person have, and why?
pub fn cover_on(facts: &CoverFacts, date: NaiveDate) -> Cover {
    // Insured on the date: an active status from its date on, or a later change away from it.
    let insured = (facts.status == PersonStatus::Active) == (date >= facts.status_from);
    if !insured {
        return refused(
            "not_insured",
            format!("{date} 不在参保状态（{}，自 {}）", facts.status.label().zh, facts.status_from),
            format!("not insured on {date} ({} since {})", facts.status.label().en, facts.status_from),
        );
    }
    if let Some(standing) = facts.contribution {
        if let Some(reason) = standing.refusal() {
            return Cover { kind: CoverKind::Refused, code: standing.code(), reason, direct_settlement: false };
        }
    }
    let designated = facts.designated_from.is_some_and(|f| f <= date && facts.designated_to.is_none_or(|t| date <= t));
    if !designated {
        return refused(
            "not_designated",
            format!("{date} 该医疗机构（{}）不是医保定点机构，费用不予报销", facts.institution_code),
            format!(
                "the institution {} is not designated on {date}; its bills are not reimbursed",
                facts.institution_code
            ),
        );
    }
    // The card decides whether the hospital can settle at once; without it the person pays
    // and claims afterwards (sporadic reimbursement) with the loss or damage notice.
    let card_problem = match (facts.card, facts.no_card_certificate) {
        (CardState::Active, _) | (_, true) => None,
        (CardState::Lost, false) => Some((
            "card_lost",
            "社会保障卡已挂失，不能直接结算：请先垫付，凭挂失证明办理零星报销",
            "the card is reported lost, so the hospital cannot settle directly: pay, then claim sporadic reimbursement with the loss notice",
        )),
        (CardState::Damaged, false) => Some((
            "card_damaged",
            "社会保障卡已损坏，不能直接结算：请先垫付，凭损坏证明办理零星报销",
            "the card is reported damaged, so the hospital cannot settle directly: pay, then claim sporadic reimbursement with the damage notice",
        )),
        (CardState::None, false) => Some((
            "no_card",
            "尚无社会保障卡：请到经办机构开具无卡证明后入院结算，或先垫付再办理零星报销",
            "no social security card yet: get a no-card certificate from the agency to be admitted and settled, or pay and claim afterwards",
        )),
    };
    let mut cover = if facts.insured_region.prefecture().contains(facts.institution_region) {
        Cover {
            kind: CoverKind::Local,
            code: "local_designated",
            reason: Text::new("参保地定点医疗机构", "a designated institution in the insured region"),
            direct_settlement: true,
        }
    } else {
        match facts.filings.iter().find(|f| f.covers(date, facts.institution_region, facts.institution_code)) {
            Some(f) => {
                let (until_zh, until_en) = match f.end {
                    Some(e) => (format!("有效期至 {e}"), format!("valid until {e}")),
                    None => ("长期有效".to_string(), "valid until revoked or changed".to_string()),
                };
                Cover {
                    kind: CoverKind::Filed { filing_id: f.id, kind: f.kind, group: f.kind.group(), until: f.end },
                    code: "filed",
                    reason: Text::new(
                        format!("已办理异地就医备案（{}），{until_zh}", f.kind.label().zh),
                        format!("off-site treatment filed ({}), {until_en}", f.kind.label().en),
                    ),
                    direct_settlement: true,
                }
            }
            None => Cover {
                kind: CoverKind::NotFiled,
                code: "not_filed",
                reason: Text::new(
                    "异地就医未备案：按参保地规定不予报销或降低报销比例；可在规定期限内补办备案",
                    "off-site without a filing: the insured region refuses or lowers the ratio; a filing may be made retroactively within the region's window",
                ),
                direct_settlement: false,
            },
        }
    };
    if let Some((code, zh, en)) = card_problem {
        if cover.direct_settlement {
            cover.code = code;
            cover.reason = Text::new(format!("{}；{zh}", cover.reason.zh), format!("{}; {en}", cover.reason.en));
            cover.direct_settlement = false;
        }
    }
    cover
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn code(s: &str) -> AdminCode {
        s.parse().unwrap()
    }

    fn filing(id: i64, kind: FilingType, dest: Option<&str>, start: &str, end: Option<&str>) -> FilingFacts {
        FilingFacts {
            id,
            kind,
            destination: dest.map(code),
            institution: None,
            start: d(start),
            end: end.map(d),
            status: FilingStatus::Approved,
            revoked_from: None,
        }
    }

    fn facts<'a>(institution_region: &str, filings: &'a [FilingFacts]) -> CoverFacts<'a> {
        CoverFacts {
            insured_region: code("620302"),
            status: PersonStatus::Active,
            status_from: d("2015-01-01"),
            card: CardState::Active,
            no_card_certificate: false,
            institution_code: "H62010200001",
            institution_region: code(institution_region),
            designated_from: Some(d("2015-01-01")),
            designated_to: None,
            filings,
            contribution: None,
        }
    }

    #[test]
    fn local_filed_and_not_filed() {
        let none: [FilingFacts; 0] = [];
        // 永昌县 (620321) is in 金昌's pooling region: local.
        let c = cover_on(&facts("620321", &none), d("2026-05-01"));
        assert_eq!((c.kind, c.code, c.direct_settlement), (CoverKind::Local, "local_designated", true));
        // 兰州 without a filing.
        let c = cover_on(&facts("620102", &none), d("2026-05-01"));
        assert_eq!((c.kind, c.direct_settlement), (CoverKind::NotFiled, false));
        assert!(c.reason.zh.contains("未备案") && c.reason.en.contains("without a filing"));
        // A referral to 甘肃 (the province) for six months covers 兰州 inside the period only.
        let f = [filing(7, FilingType::Referral, Some("620000"), "2026-03-01", Some("2026-08-31"))];
        let c = cover_on(&facts("620102", &f), d("2026-05-01"));
        assert_eq!(
            c.kind,
            CoverKind::Filed {
                filing_id: 7,
                kind: FilingType::Referral,
                group: Filing::Referral,
                until: Some(d("2026-08-31"))
            }
        );
        assert!(c.reason.zh.contains("有效期至 2026-08-31"), "{:?}", c.reason);
        assert_eq!(cover_on(&facts("620102", &f), d("2026-09-01")).kind, CoverKind::NotFiled, "expired");
        assert_eq!(cover_on(&facts("110105", &f), d("2026-05-01")).kind, CoverKind::NotFiled, "another province");
        // A retiree resettled anywhere in the country, open-ended: long-term residence.
        let f = [filing(8, FilingType::RetireeResettled, None, "2024-01-01", None)];
        let c = cover_on(&facts("110105", &f), d("2026-05-01"));
        assert!(matches!(c.kind, CoverKind::Filed { group: Filing::LongTermResidence, until: None, .. }));
        assert!(c.reason.zh.contains("长期有效"));
    }

    #[test]
    fn revoked_applied_rejected_and_retroactive_filings() {
        let mut f = filing(9, FilingType::TemporaryOther, Some("620100"), "2026-01-01", Some("2026-12-31"));
        f.status = FilingStatus::Revoked;
        f.revoked_from = Some(d("2026-06-01"));
        let fs = [f.clone()];
        assert!(matches!(cover_on(&facts("620102", &fs), d("2026-05-31")).kind, CoverKind::Filed { .. }));
        assert_eq!(cover_on(&facts("620102", &fs), d("2026-06-01")).kind, CoverKind::NotFiled, "revoked from 06-01");
        for status in [FilingStatus::Applied, FilingStatus::Rejected] {
            let fs = [FilingFacts { status, revoked_from: None, ..f.clone() }];
            assert_eq!(cover_on(&facts("620102", &fs), d("2026-03-01")).kind, CoverKind::NotFiled, "{status:?}");
        }
        // A filing approved after the treatment (补办) covers from its start date: the
        // treatment date, not the approval date, is what is asked.
        let late = [filing(10, FilingType::Emergency, Some("620100"), "2026-02-10", Some("2026-08-09"))];
        assert!(matches!(cover_on(&facts("620102", &late), d("2026-02-10")).kind, CoverKind::Filed { .. }));
        assert_eq!(cover_on(&facts("620102", &late), d("2026-02-09")).kind, CoverKind::NotFiled);
        // A filing naming an institution covers only that one.
        let named = [FilingFacts { institution: Some("H62010300001".into()), ..late[0].clone() }];
        assert_eq!(cover_on(&facts("620102", &named), d("2026-03-01")).kind, CoverKind::NotFiled);
    }

    #[test]
    fn not_insured_not_designated_and_the_card() {
        let none: [FilingFacts; 0] = [];
        let mut x = facts("620302", &none);
        x.status = PersonStatus::Suspended;
        x.status_from = d("2026-04-01");
        assert_eq!(cover_on(&x, d("2026-03-31")).kind, CoverKind::Local, "insured until the suspension");
        let c = cover_on(&x, d("2026-04-01"));
        assert_eq!((c.kind, c.code), (CoverKind::Refused, "not_insured"));
        assert!(c.reason.zh.contains("暂停参保"));
        let mut x = facts("620302", &none);
        x.status_from = d("2026-07-01");
        assert_eq!(cover_on(&x, d("2026-06-30")).code, "not_insured", "before enrolment");

        let mut x = facts("620302", &none);
        x.designated_to = Some(d("2025-12-31"));
        assert_eq!(cover_on(&x, d("2026-01-01")).code, "not_designated");

        let mut x = facts("620302", &none);
        x.card = CardState::Lost;
        let c = cover_on(&x, d("2026-05-01"));
        assert_eq!((c.kind, c.code, c.direct_settlement), (CoverKind::Local, "card_lost", false));
        assert!(c.reason.zh.contains("零星报销") && c.reason.en.contains("sporadic reimbursement"));
        x.card = CardState::Damaged;
        assert_eq!(cover_on(&x, d("2026-05-01")).code, "card_damaged");
        x.card = CardState::None;
        assert_eq!(cover_on(&x, d("2026-05-01")).code, "no_card");
        x.no_card_certificate = true;
        let c = cover_on(&x, d("2026-05-01"));
        assert_eq!(
            (c.code, c.direct_settlement),
            ("local_designated", true),
            "a no-card certificate lets the hospital settle"
        );
    }

    #[test]
    fn cover_follows_payment() {
        use crate::contribution::months::{standing, Paid, YearMonth};
        use crate::contribution::{ArrearsRules, Restore};
        let none: [FilingFacts; 0] = [];
        let rules = ArrearsRules { grace_months: 3, waiting_days: 90, restore: Restore::FromPayment };
        let paid = |months: &[(i32, u32)], on: &str| -> Vec<Paid> {
            months.iter().map(|&(y, m)| Paid { month: YearMonth::new(y, m).unwrap(), on: d(on) }).collect()
        };
        let on = |p: &[Paid], day: &str, as_of: &str| {
            let mut x = facts("620302", &none);
            x.contribution = Some(standing(&rules, 0, p, d(day), d(as_of)));
            cover_on(&x, d(day))
        };
        // Paid to January: covered in January, in the grace through April, refused in May.
        let p = paid(&[(2026, 1)], "2026-01-10");
        assert_eq!(on(&p, "2026-01-20", "2026-01-20").kind, CoverKind::Local);
        assert_eq!(on(&p, "2026-04-30", "2026-04-30").kind, CoverKind::Local, "in the grace");
        let c = on(&p, "2026-05-01", "2026-05-01");
        assert_eq!((c.kind, c.code, c.direct_settlement), (CoverKind::Refused, "contribution_arrears", false));
        assert!(c.reason.zh.contains("2026-02") && c.reason.en.contains("2026-02"), "{:?}", c.reason);
        // Paying again in June after the gap: waiting 90 days from the payment.
        let mut p2 = p.clone();
        p2.extend(paid(&[(2026, 6)], "2026-06-05"));
        let c = on(&p2, "2026-06-20", "2026-06-20");
        assert_eq!(c.code, "contribution_waiting");
        assert!(c.reason.zh.contains("2026-09-03"), "{:?}", c.reason);
        // Nothing paid at all: refused with its own reason, before the card or the place.
        let mut x = facts("620102", &none);
        x.card = CardState::Lost;
        x.contribution = Some(standing(&rules, 0, &[], d("2026-03-01"), d("2026-03-01")));
        assert_eq!(cover_on(&x, d("2026-03-01")).code, "contribution_unpaid");
        // No contribution rules (or a retiree): cover as before.
        x.contribution = None;
        assert_eq!(cover_on(&x, d("2026-03-01")).code, "not_filed");
    }
}
