//! Social security cards (社会保障卡): the application at a service point, the 30 working
//! days to issue, collection at the bank and activation, loss (挂失) and damage (损坏)
//! reports, replacement and cancellation — one transition table — and the card state on
//! any date, which [`crate::cover::cover_on`] asks and a sporadic claim uses as proof.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, CalendarError, Estimate};
use crate::cover::CardState;
use crate::error::InvalidValue;
use crate::i18n::Text;

/// Working days from a complete application to the card at the bank (seed 001, step 6).
pub const ISSUE_WORKING_DAYS: u32 = 30;

/// The banks that issue social security cards in the demo region.
pub const ISSUING_BANKS: &[&str] =
    &["中国工商银行", "中国农业银行", "中国银行", "中国建设银行", "中国邮政储蓄银行", "甘肃银行", "兰州银行"];

/// When the card will be at the bank: 30 working days after the application was submitted.
///
/// A forecast: when the days run into a year whose holidays are not published yet, its
/// weekdays are counted and the estimate says it is provisional.
pub fn expected_issue_date(calendar: &Calendar, submitted: NaiveDate) -> Result<Estimate, CalendarError> {
    calendar.estimate_working_days(submitted, ISSUE_WORKING_DAYS)
}

/// The photo on the card (seed 001, step 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoSource {
    /// The person authorised reuse of their second-generation ID card photo.
    IdCard,
    /// A receipt from an approved photo studio, pasted on the registration form.
    StudioReceipt,
    /// An electronic photo handed in at the service point.
    Upload,
}

impl PhotoSource {
    pub const ALL: [PhotoSource; 3] = [PhotoSource::IdCard, PhotoSource::StudioReceipt, PhotoSource::Upload];

    pub fn code(self) -> &'static str {
        match self {
            PhotoSource::IdCard => "id_card",
            PhotoSource::StudioReceipt => "studio_receipt",
            PhotoSource::Upload => "upload",
        }
    }

    pub fn parse(s: &str) -> Result<PhotoSource, InvalidValue> {
        PhotoSource::ALL.into_iter().find(|p| p.code() == s).ok_or_else(|| {
            InvalidValue::new("photo", "unknown", format!("未知照片来源“{s}”"), format!("unknown photo source \"{s}\""))
        })
    }

    pub fn label(self) -> Text {
        match self {
            PhotoSource::IdCard => Text::new("授权使用二代身份证照片", "authorised reuse of the ID card photo"),
            PhotoSource::StudioReceipt => Text::new("照相馆采集回执", "receipt from an approved photo studio"),
            PhotoSource::Upload => Text::new("现场提交电子照片", "electronic photo handed in"),
        }
    }
}

/// A card application as the service point records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardApplication {
    pub photo: PhotoSource,
    /// The studio receipt's number, or the photo file's reference.
    #[serde(default)]
    pub photo_reference: String,
    pub bank: String,
    /// The applicant checked and signed the registration form.
    pub applicant_confirmed: bool,
    /// The service point checked the original ID card and the form.
    pub service_point_confirmed: bool,
}

impl CardApplication {
    pub fn check(&self) -> Result<(), Vec<InvalidValue>> {
        let mut e = Vec::new();
        if !ISSUING_BANKS.contains(&self.bank.as_str()) {
            e.push(InvalidValue::new(
                "bank",
                "unknown",
                format!("请选择发卡银行（{}）", ISSUING_BANKS.join("、")),
                "choose one of the issuing banks",
            ));
        }
        if self.photo != PhotoSource::IdCard && self.photo_reference.trim().is_empty() {
            e.push(InvalidValue::new(
                "photo_reference",
                "required",
                "请填写照相馆回执编号或照片编号",
                "give the studio receipt's or the photo's number",
            ));
        }
        if !(self.applicant_confirmed && self.service_point_confirmed) {
            e.push(InvalidValue::new(
                "confirmed",
                "required",
                "申请登记表须经申请人和服务网点双方确认",
                "the applicant and the service point must both confirm the registration form",
            ));
        }
        if e.is_empty() {
            Ok(())
        } else {
            Err(e)
        }
    }
}

/// A card's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    /// Submitted at the service point; being made.
    Applied,
    /// Collected at the bank with the original ID card.
    Collected,
    Active,
    /// 挂失
    Lost,
    /// 损坏
    Damaged,
    /// A replacement card has been activated.
    Replaced,
    Cancelled,
}

/// What happens to a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardEvent {
    /// The card is made and waits at the bank (the person is told to collect it); its status
    /// stays 「制卡中」 with the day it was ready.
    Ready,
    Collect,
    Activate,
    ReportLost,
    /// 解挂: a card reported lost was found again (or reported by mistake); it is in use
    /// again from the day found, and the days it was lost stay on record.
    Found,
    ReportDamaged,
    /// The replacement card was activated.
    Replace,
    Cancel,
}

impl CardStatus {
    pub const ALL: [CardStatus; 7] = [
        CardStatus::Applied,
        CardStatus::Collected,
        CardStatus::Active,
        CardStatus::Lost,
        CardStatus::Damaged,
        CardStatus::Replaced,
        CardStatus::Cancelled,
    ];

    pub fn code(self) -> &'static str {
        match self {
            CardStatus::Applied => "applied",
            CardStatus::Collected => "collected",
            CardStatus::Active => "active",
            CardStatus::Lost => "lost",
            CardStatus::Damaged => "damaged",
            CardStatus::Replaced => "replaced",
            CardStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<CardStatus, InvalidValue> {
        CardStatus::ALL.into_iter().find(|k| k.code() == s).ok_or_else(|| {
            InvalidValue::new("status", "unknown", format!("未知卡状态“{s}”"), format!("unknown card status \"{s}\""))
        })
    }

    pub fn label(self) -> Text {
        match self {
            CardStatus::Applied => Text::new("制卡中", "being made"),
            CardStatus::Collected => Text::new("已领卡，待激活", "collected, not yet activated"),
            CardStatus::Active => Text::new("正常使用", "active"),
            CardStatus::Lost => Text::new("已挂失", "reported lost"),
            CardStatus::Damaged => Text::new("已损坏", "reported damaged"),
            CardStatus::Replaced => Text::new("已补换", "replaced"),
            CardStatus::Cancelled => Text::new("已注销", "cancelled"),
        }
    }

    /// Whether the card still counts (a new card may not be applied for while one does,
    /// unless it is lost or damaged).
    pub fn blocks_new_application(self) -> bool {
        matches!(self, CardStatus::Applied | CardStatus::Collected | CardStatus::Active)
    }

    /// The one place that decides a card's transitions.
    pub fn apply(self, event: CardEvent) -> Result<CardStatus, InvalidValue> {
        use CardEvent::*;
        use CardStatus::*;
        match (self, event) {
            (Applied, Ready) => Ok(Applied),
            (Applied, Collect) => Ok(Collected),
            (Collected, Activate) => Ok(Active),
            (Active, ReportLost) => Ok(Lost),
            (Lost, Found) => Ok(Active),
            (Active, ReportDamaged) => Ok(Damaged),
            (Lost | Damaged, Replace) => Ok(Replaced),
            (Applied | Collected | Active | Lost | Damaged, Cancel) => Ok(Cancelled),
            (Applied, Activate) => Err(InvalidValue::new(
                "card",
                "not_collected",
                "请先持本人身份证原件到发卡银行领卡，再激活",
                "collect the card at the bank with the original ID card first, then activate it",
            )),
            (from, _) => Err(InvalidValue::new(
                "card",
                "transition",
                format!("卡片当前状态为“{}”，不能办理此业务", from.label().zh),
                format!("the card is {}; this cannot be done now", from.label().en),
            )),
        }
    }
}

/// A card's dates, as far as its state on a date is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardFacts {
    pub activated_on: Option<NaiveDate>,
    /// Reported lost from this day, and not found since.
    pub lost_on: Option<NaiveDate>,
    /// Earlier losses that ended when the card was found (解挂): lost from the first day,
    /// in use again from the second.
    pub earlier_losses: Vec<(NaiveDate, NaiveDate)>,
    pub damaged_on: Option<NaiveDate>,
    /// Replaced or cancelled from this day.
    pub ended_on: Option<NaiveDate>,
}

impl CardFacts {
    fn state_on(&self, date: NaiveDate) -> CardState {
        let from = |d: Option<NaiveDate>| d.is_some_and(|d| d <= date);
        if from(self.ended_on) {
            CardState::None
        } else if from(self.lost_on) || self.earlier_losses.iter().any(|&(lost, found)| lost <= date && date < found) {
            CardState::Lost
        } else if from(self.damaged_on) {
            CardState::Damaged
        } else if from(self.activated_on) {
            CardState::Active
        } else {
            CardState::None
        }
    }
}

/// The person's card state on `date` over all their cards: an active card wins; otherwise
/// a lost or damaged one, so the period before a replacement is activated is provable.
pub fn card_state_on(cards: &[CardFacts], date: NaiveDate) -> CardState {
    let states: Vec<CardState> = cards.iter().map(|c| c.state_on(date)).collect();
    [CardState::Active, CardState::Lost, CardState::Damaged]
        .into_iter()
        .find(|s| states.contains(s))
        .unwrap_or(CardState::None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn transitions() {
        use CardEvent::*;
        let mut s = CardStatus::Applied;
        assert_eq!(s.apply(Activate).unwrap_err().code, "not_collected");
        for (e, want) in
            [(Collect, CardStatus::Collected), (Activate, CardStatus::Active), (ReportLost, CardStatus::Lost)]
        {
            s = s.apply(e).unwrap();
            assert_eq!(s, want);
        }
        assert_eq!(s.apply(ReportDamaged).unwrap_err().code, "transition");
        assert_eq!(s.apply(Replace).unwrap(), CardStatus::Replaced);
        assert!(CardStatus::Replaced.apply(Cancel).is_err());
        assert!(CardStatus::Cancelled.apply(Activate).is_err());
        assert!(CardStatus::Active.blocks_new_application());
        assert!(!CardStatus::Lost.blocks_new_application());
        for s in CardStatus::ALL {
            assert_eq!(CardStatus::parse(s.code()).unwrap(), s);
        }
    }

    #[test]
    fn the_loss_period_lasts_until_the_replacement_is_activated() {
        let old = CardFacts {
            activated_on: Some(d("2020-03-01")),
            lost_on: Some(d("2026-03-02")),
            earlier_losses: Vec::new(),
            damaged_on: None,
            ended_on: Some(d("2026-04-20")),
        };
        let new = CardFacts {
            activated_on: Some(d("2026-04-20")),
            lost_on: None,
            earlier_losses: Vec::new(),
            damaged_on: None,
            ended_on: None,
        };
        let cards = [old, new.clone()];
        assert_eq!(card_state_on(&cards, d("2026-03-01")), CardState::Active);
        assert_eq!(card_state_on(&cards, d("2026-03-02")), CardState::Lost);
        assert_eq!(card_state_on(&cards, d("2026-04-19")), CardState::Lost);
        assert_eq!(card_state_on(&cards, d("2026-04-20")), CardState::Active);
        assert_eq!(card_state_on(&cards, d("2019-12-31")), CardState::None, "before the first card");
        assert_eq!(card_state_on(&[], d("2026-01-01")), CardState::None);
        let damaged = CardFacts { damaged_on: Some(d("2026-05-05")), ..new };
        assert_eq!(card_state_on(&[damaged], d("2026-05-05")), CardState::Damaged);
    }

    #[test]
    fn a_card_found_again_is_in_use_from_the_day_found_and_was_lost_before() {
        use CardEvent::*;
        assert_eq!(CardStatus::Lost.apply(Found).unwrap(), CardStatus::Active);
        for s in [CardStatus::Active, CardStatus::Damaged, CardStatus::Replaced, CardStatus::Applied] {
            assert_eq!(s.apply(Found).unwrap_err().code, "transition", "{s:?}");
        }
        // Lost on 03-02, found on 03-05, lost again on 06-01.
        let card = CardFacts {
            activated_on: Some(d("2020-03-01")),
            lost_on: Some(d("2026-06-01")),
            earlier_losses: vec![(d("2026-03-02"), d("2026-03-05"))],
            damaged_on: None,
            ended_on: None,
        };
        let on = |s| card_state_on(std::slice::from_ref(&card), d(s));
        assert_eq!(on("2026-03-01"), CardState::Active);
        assert_eq!(on("2026-03-02"), CardState::Lost);
        assert_eq!(on("2026-03-04"), CardState::Lost);
        assert_eq!(on("2026-03-05"), CardState::Active, "in use again from the day found");
        assert_eq!(on("2026-05-31"), CardState::Active);
        assert_eq!(on("2026-06-01"), CardState::Lost);
    }

    #[test]
    fn thirty_working_days_cross_the_holidays() {
        let cal = Calendar::built_in().unwrap();
        // Submitted Thursday 2026-09-24: National Day (10-01..10-07) and its 调休 days
        // (Sunday 09-20 and Saturday 10-10 worked) lie inside the 30 working days.
        // Counted by hand from the notice: 09-25..27 and 10-01..07 off, 10-10 worked.
        let firm = |date| Estimate { date, provisional: false };
        assert_eq!(expected_issue_date(&cal, d("2026-09-24")).unwrap(), firm(d("2026-11-12")));
        // From Monday 03-02 six plain weeks end on 04-13; Qingming Monday 04-06 adds a day.
        assert_eq!(expected_issue_date(&cal, d("2026-03-02")).unwrap(), firm(d("2026-04-14")));
        // 2027 is not published in the built-in data: weekdays, flagged provisional
        // (2026-12-21..31 gives 9 weekdays, then 21 in 2027: 29 January).
        let late = expected_issue_date(&cal, d("2026-12-20")).unwrap();
        assert_eq!(late, Estimate { date: d("2027-01-29"), provisional: true });
    }

    #[test]
    fn an_application_needs_a_bank_a_photo_and_both_confirmations() {
        let a = CardApplication {
            photo: PhotoSource::StudioReceipt,
            photo_reference: String::new(),
            bank: "某银行".into(),
            applicant_confirmed: true,
            service_point_confirmed: false,
        };
        let codes: Vec<_> = a.check().unwrap_err().iter().map(|e| e.field).collect();
        assert_eq!(codes, ["bank", "photo_reference", "confirmed"]);
        let ok =
            CardApplication {
                photo: PhotoSource::IdCard, bank: "甘肃银行".into(), service_point_confirmed: true, ..a
            };
        assert!(ok.check().is_ok());
    }
}
