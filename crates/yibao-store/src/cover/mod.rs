//! What a person's cover is built from, stored: off-site filings (异地就医备案), referral
//! certificates (转诊证明), social security cards and no-card certificates (无卡证明). The
//! rules live in the core (`filing`, `card`, `cover`); this module keeps the records, moves
//! them between states with one audit entry per change, and feeds [`cover_on`].
//!
//! Filings are in `filings.rs`, referral certificates in `referrals.rs`, cards and no-card
//! certificates in `cards.rs`; the question "what is this person's cover?" is here.

mod cards;
mod filings;
mod referrals;

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::card::{
    card_state_on, expected_issue_date, CardApplication, CardEvent, CardFacts, CardStatus, PhotoSource,
};
use yibao_core::cover::{cover_on, CardState, Cover, CoverFacts, FilingFacts, FilingStatus, FilingType};
use yibao_core::filing::{may_change, Channel, Decision, FilingApplication, FilingDocument, RejectReason};
use yibao_core::policy::FilingRules;
use yibao_core::{AdminCode, InvalidValue, ResidentId, Scope};

use crate::db::query::{date_from, date_text, fetch_one_by_id, region_from, Arg, Sql};
use crate::registry::fetch_person;
use crate::{Institution, Person, Store, StoreError, WriteTx};

/// A filing as stored, with its person's name and region for lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredFiling {
    pub id: i64,
    pub person_id: i64,
    pub person_name: String,
    pub insured_region: AdminCode,
    pub kind: FilingType,
    pub destination: Option<AdminCode>,
    pub institution: Option<String>,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    /// As stored: applied, approved, rejected or revoked (see `status_on` for expiry).
    pub status: FilingStatus,
    pub retroactive: bool,
    pub documents: Vec<FilingDocument>,
    pub referral_number: Option<String>,
    pub channel: Channel,
    pub delegate_id: Option<String>,
    pub replaces: Option<i64>,
    pub applied_at: String,
    pub applied_by: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
    pub reason: Option<RejectReason>,
    pub note: Option<String>,
    pub revoked_from: Option<NaiveDate>,
    pub version: i64,
}

impl StoredFiling {
    pub fn facts(&self) -> FilingFacts {
        FilingFacts {
            id: self.id,
            kind: self.kind,
            destination: self.destination,
            institution: self.institution.clone(),
            start: self.start,
            end: self.end,
            status: self.status,
            revoked_from: self.revoked_from,
        }
    }

    /// The status shown on `today` (an approved filing past its end has expired).
    pub fn status_on(&self, today: NaiveDate) -> FilingStatus {
        self.status.on(self.end, today)
    }

    /// Approved, started and not expired on `day`: what a hospital may rely on that day.
    pub fn in_force_on(&self, day: NaiveDate) -> bool {
        self.status_on(day) == FilingStatus::Approved && self.start <= day
    }
}

const FILING_COLS: &str = "f.id, f.person_id, p.name, p.insured_region, f.kind, f.destination, f.institution, \
    f.start_date, f.end_date, f.status, f.retroactive, f.documents, r.number, f.channel, f.delegate_id, f.replaces, \
    f.applied_at, f.applied_by, f.decided_at, f.decided_by, f.reason, f.note, f.revoked_from, f.version";
const FILING_FROM: &str =
    "filings f JOIN persons p ON p.id = f.person_id LEFT JOIN referrals r ON r.id = f.referral_id";

fn opt_date(r: &AnyRow, i: usize, column: &str) -> Result<Option<NaiveDate>, StoreError> {
    r.try_get::<Option<String>, _>(i)?.map(|s| date_from(column, &s)).transpose()
}

fn corrupt(column: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{column}: {e}"))
}

fn filing_from_row(r: &AnyRow) -> Result<StoredFiling, StoreError> {
    let documents: String = r.try_get(11)?;
    let channel: String = r.try_get(13)?;
    Ok(StoredFiling {
        id: r.try_get(0)?,
        person_id: r.try_get(1)?,
        person_name: r.try_get(2)?,
        insured_region: region_from(r.try_get(3)?)?,
        kind: FilingType::parse(&r.try_get::<String, _>(4)?)?,
        destination: r.try_get::<Option<i64>, _>(5)?.map(region_from).transpose()?,
        institution: r.try_get(6)?,
        start: date_from("start_date", &r.try_get::<String, _>(7)?)?,
        end: opt_date(r, 8, "end_date")?,
        status: FilingStatus::parse(&r.try_get::<String, _>(9)?)?,
        retroactive: r.try_get::<i64, _>(10)? != 0,
        documents: serde_json::from_str(&documents).map_err(|e| corrupt("documents", e))?,
        referral_number: r.try_get(12)?,
        channel: if channel == "window" { Channel::Window } else { Channel::Online },
        delegate_id: r.try_get(14)?,
        replaces: r.try_get(15)?,
        applied_at: r.try_get(16)?,
        applied_by: r.try_get(17)?,
        decided_at: r.try_get(18)?,
        decided_by: r.try_get(19)?,
        reason: r.try_get::<Option<String>, _>(20)?.map(|s| RejectReason::parse(&s)).transpose()?,
        note: r.try_get(21)?,
        revoked_from: opt_date(r, 22, "revoked_from")?,
        version: r.try_get(23)?,
    })
}

/// A referral certificate (转诊证明) as issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Referral {
    pub id: i64,
    pub number: String,
    pub person_id: i64,
    pub person_name: String,
    pub issuer_code: String,
    pub issuer_name: String,
    pub diagnosis: String,
    pub destination: AdminCode,
    pub destination_institution: Option<String>,
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
    /// The hospital's seal (the first of the two confirmations).
    pub hospital_seal_by: String,
    pub hospital_sealed_at: String,
    /// The hospital's social security window's seal (the second).
    pub window_seal_by: Option<String>,
    pub window_sealed_at: Option<String>,
    pub issued_by: String,
}

impl Referral {
    /// Both seals are on it.
    pub fn sealed(&self) -> bool {
        self.window_sealed_at.is_some()
    }
}

/// What an institution enters to issue a referral certificate.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ReferralInput {
    pub resident_id: ResidentId,
    pub diagnosis: String,
    pub destination: AdminCode,
    #[serde(default)]
    pub destination_institution: Option<String>,
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
    /// Who put the hospital's seal on it.
    pub hospital_seal_by: String,
}

/// The longest a referral certificate may be valid.
pub const MAX_REFERRAL_DAYS: i64 = 180;

const REFERRAL_COLS: &str = "r.id, r.number, r.person_id, p.name, i.code, i.name, r.diagnosis, r.destination, \
    r.destination_institution, r.valid_from, r.valid_to, r.hospital_seal_by, r.hospital_sealed_at, r.window_seal_by, \
    r.window_sealed_at, r.issued_by";
const REFERRAL_FROM: &str =
    "referrals r JOIN persons p ON p.id = r.person_id JOIN institutions i ON i.id = r.institution_id";

fn referral_from_row(r: &AnyRow) -> Result<Referral, StoreError> {
    Ok(Referral {
        id: r.try_get(0)?,
        number: r.try_get(1)?,
        person_id: r.try_get(2)?,
        person_name: r.try_get(3)?,
        issuer_code: r.try_get(4)?,
        issuer_name: r.try_get(5)?,
        diagnosis: r.try_get(6)?,
        destination: region_from(r.try_get(7)?)?,
        destination_institution: r.try_get(8)?,
        valid_from: date_from("valid_from", &r.try_get::<String, _>(9)?)?,
        valid_to: date_from("valid_to", &r.try_get::<String, _>(10)?)?,
        hospital_seal_by: r.try_get(11)?,
        hospital_sealed_at: r.try_get(12)?,
        window_seal_by: r.try_get(13)?,
        window_sealed_at: r.try_get(14)?,
        issued_by: r.try_get(15)?,
    })
}

/// A social security card as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Card {
    pub id: i64,
    pub person_id: i64,
    pub status: CardStatus,
    pub bank: String,
    pub photo: PhotoSource,
    pub photo_reference: String,
    pub applied_on: NaiveDate,
    /// 30 working days after the application, on the official calendar.
    pub expected_on: NaiveDate,
    /// The expected date counted weekdays of a year whose holidays were not yet published.
    pub expected_provisional: bool,
    /// Made and waiting at the bank from this day (the person was told).
    pub ready_on: Option<NaiveDate>,
    pub collected_on: Option<NaiveDate>,
    pub activated_on: Option<NaiveDate>,
    /// Reported lost from this day, and not found since.
    pub lost_on: Option<NaiveDate>,
    /// Earlier losses that ended when the card was found (解挂), oldest first: lost from
    /// the first day, in use again from the second.
    pub earlier_losses: Vec<(NaiveDate, NaiveDate)>,
    pub damaged_on: Option<NaiveDate>,
    /// Replaced or cancelled from this day.
    pub ended_on: Option<NaiveDate>,
    pub replaces: Option<i64>,
    pub recorded_by: String,
    pub version: i64,
}

impl Card {
    pub fn facts(&self) -> CardFacts {
        CardFacts {
            activated_on: self.activated_on,
            lost_on: self.lost_on,
            earlier_losses: self.earlier_losses.clone(),
            damaged_on: self.damaged_on,
            ended_on: self.ended_on,
        }
    }
}

const CARD_COLS: &str = "id, person_id, status, bank, photo, photo_reference, applied_on, expected_on, collected_on, \
    activated_on, lost_on, damaged_on, ended_on, replaces, recorded_by, version, expected_provisional, ready_on";

fn card_from_row(r: &AnyRow) -> Result<Card, StoreError> {
    Ok(Card {
        id: r.try_get(0)?,
        person_id: r.try_get(1)?,
        status: CardStatus::parse(&r.try_get::<String, _>(2)?)?,
        bank: r.try_get(3)?,
        photo: PhotoSource::parse(&r.try_get::<String, _>(4)?)?,
        photo_reference: r.try_get(5)?,
        applied_on: date_from("applied_on", &r.try_get::<String, _>(6)?)?,
        expected_on: date_from("expected_on", &r.try_get::<String, _>(7)?)?,
        collected_on: opt_date(r, 8, "collected_on")?,
        activated_on: opt_date(r, 9, "activated_on")?,
        lost_on: opt_date(r, 10, "lost_on")?,
        earlier_losses: Vec::new(),
        damaged_on: opt_date(r, 11, "damaged_on")?,
        ended_on: opt_date(r, 12, "ended_on")?,
        replaces: r.try_get(13)?,
        recorded_by: r.try_get(14)?,
        version: r.try_get(15)?,
        expected_provisional: r.try_get::<i64, _>(16)? != 0,
        ready_on: opt_date(r, 17, "ready_on")?,
    })
}

/// A person's cards, newest first, with their earlier losses, in a transaction or not.
async fn fetch_cards(c: &mut crate::db::Conn, person_id: i64) -> Result<Vec<Card>, StoreError> {
    let sql = format!("SELECT {CARD_COLS} FROM cards WHERE person_id = $1 ORDER BY id DESC");
    let cards: Vec<Card> = sqlx::query(&sql)
        .bind(person_id)
        .fetch_all(&mut *c)
        .await?
        .iter()
        .map(card_from_row)
        .collect::<Result<_, _>>()?;
    let losses = sqlx::query(
        "SELECT l.card_id, l.lost_on, l.found_on FROM card_losses l JOIN cards c ON c.id = l.card_id \
         WHERE c.person_id = $1 ORDER BY l.id",
    )
    .bind(person_id)
    .fetch_all(&mut *c)
    .await?;
    with_losses(cards, &losses)
}

/// One card with its earlier losses.
async fn fetch_card(c: &mut crate::db::Conn, id: i64) -> Result<Card, StoreError> {
    let sql = format!("SELECT {CARD_COLS} FROM cards WHERE id = $1");
    let card = fetch_one_by_id(&mut *c, &sql, id, "card", card_from_row).await?;
    let losses = sqlx::query("SELECT card_id, lost_on, found_on FROM card_losses WHERE card_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
    let mut cards = with_losses(vec![card], &losses)?;
    Ok(cards.remove(0))
}

/// Puts each loss row (card id, lost on, found on) on its card.
fn with_losses(mut cards: Vec<Card>, rows: &[AnyRow]) -> Result<Vec<Card>, StoreError> {
    for r in rows {
        let card_id: i64 = r.try_get(0)?;
        let period =
            (date_from("lost_on", &r.try_get::<String, _>(1)?)?, date_from("found_on", &r.try_get::<String, _>(2)?)?);
        if let Some(card) = cards.iter_mut().find(|c| c.id == card_id) {
            card.earlier_losses.push(period);
        }
    }
    Ok(cards)
}

/// A no-card certificate (无卡证明 / 介绍信): the agency lets a hospital admit and settle a
/// person whose card is not yet issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoCardCertificate {
    pub id: i64,
    pub number: String,
    pub person_id: i64,
    pub institution_id: Option<i64>,
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
    pub issued_at: String,
    pub issued_by: String,
}

/// How long a no-card certificate is valid by default.
pub const NO_CARD_DAYS: i64 = 30;

fn certificate_from_row(r: &AnyRow) -> Result<NoCardCertificate, StoreError> {
    Ok(NoCardCertificate {
        id: r.try_get(0)?,
        number: r.try_get(1)?,
        person_id: r.try_get(2)?,
        institution_id: r.try_get(3)?,
        valid_from: date_from("valid_from", &r.try_get::<String, _>(4)?)?,
        valid_to: date_from("valid_to", &r.try_get::<String, _>(5)?)?,
        issued_at: r.try_get(6)?,
        issued_by: r.try_get(7)?,
    })
}

/// A person's cover on a date, with everything it was decided from.
#[derive(Debug, Clone, Serialize)]
pub struct CoverReport {
    pub date: NaiveDate,
    pub card: CardState,
    pub cards: Vec<Card>,
    pub filings: Vec<StoredFiling>,
    pub certificates: Vec<NoCardCertificate>,
    /// The institution asked about and the cover there, when one was named.
    pub institution: Option<Institution>,
    pub cover: Option<Cover>,
}

fn invalid(field: &'static str, code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> StoreError {
    StoreError::Invalid(InvalidValue::new(field, code, zh, en))
}

fn stale(what: &'static str) -> StoreError {
    StoreError::Stale(what)
}

impl Store {
    // -------------------------------------------------------------------------------
    // The question

    /// The person's card, filings and certificates and — when an institution is named —
    /// their cover there on `date`, with the reasons.
    pub async fn cover_report(
        &self,
        person: &Person,
        date: NaiveDate,
        institution_code: Option<&str>,
    ) -> Result<CoverReport, StoreError> {
        let cards = self.cards_of(person.id).await?;
        let filings = self.filings_of(person.id).await?;
        let certificates = self.no_card_certificates_of(person.id).await?;
        let card_facts: Vec<CardFacts> = cards.iter().map(Card::facts).collect();
        let card = card_state_on(&card_facts, date);
        let (institution, cover) = match institution_code.map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => {
                let inst = self.institution_by_code(code).await?;
                let facts: Vec<FilingFacts> = filings.iter().map(StoredFiling::facts).collect();
                // Cover follows payment: what is paid by the day decides the day.
                let contribution = self.contribution_standing(person, date, date).await?;
                let cover = cover_on(
                    &CoverFacts {
                        insured_region: person.insured_region,
                        status: person.status,
                        status_from: person.status_from,
                        card,
                        no_card_certificate: certificates.iter().any(|c| {
                            c.valid_from <= date && date <= c.valid_to && c.institution_id.is_none_or(|i| i == inst.id)
                        }),
                        institution_code: &inst.code,
                        institution_region: inst.region,
                        designated_from: inst.designated_from,
                        designated_to: inst.designated_to,
                        filings: &facts,
                        contribution,
                    },
                    date,
                );
                (Some(inst), Some(cover))
            }
            None => (None, None),
        };
        Ok(CoverReport { date, card, cards, filings, certificates, institution, cover })
    }
}

const CERT_COLS: &str = "id, number, person_id, institution_id, valid_from, valid_to, issued_at, issued_by";
