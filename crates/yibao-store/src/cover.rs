//! What a person's cover is built from, stored: off-site filings (异地就医备案), referral
//! certificates (转诊证明), social security cards and no-card certificates (无卡证明). The
//! rules live in the core (`filing`, `card`, `cover`); this module keeps the records, moves
//! them between states with one audit entry per change, and feeds [`cover_on`].

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

use crate::registry::{date_from, date_text, fetch_one_by_id, fetch_person, region_from, Arg, Sql};
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
    pub collected_on: Option<NaiveDate>,
    pub activated_on: Option<NaiveDate>,
    pub lost_on: Option<NaiveDate>,
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
            damaged_on: self.damaged_on,
            ended_on: self.ended_on,
        }
    }
}

const CARD_COLS: &str = "id, person_id, status, bank, photo, photo_reference, applied_on, expected_on, collected_on, \
    activated_on, lost_on, damaged_on, ended_on, replaces, recorded_by, version, expected_provisional";

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
        damaged_on: opt_date(r, 11, "damaged_on")?,
        ended_on: opt_date(r, 12, "ended_on")?,
        replaces: r.try_get(13)?,
        recorded_by: r.try_get(14)?,
        version: r.try_get(15)?,
        expected_provisional: r.try_get::<i64, _>(16)? != 0,
    })
}

/// A person's cards, newest first, in a transaction or from the pool.
async fn fetch_cards<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    e: E,
    person_id: i64,
) -> Result<Vec<Card>, StoreError> {
    let sql = format!("SELECT {CARD_COLS} FROM cards WHERE person_id = $1 ORDER BY id DESC");
    sqlx::query(&sql).bind(person_id).fetch_all(e).await?.iter().map(card_from_row).collect()
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
    /// The region's filing parameters for the person on `date` (the policy of that
    /// insurance year), or the national defaults where no policy is stored.
    pub async fn filing_rules(&self, person: &Person, date: NaiveDate) -> Result<FilingRules, StoreError> {
        let rules = self.rules().await?;
        Ok(rules
            .policies
            .select(person.insured_region, person.scheme, date)
            .map(|p| p.offsite.filing)
            .unwrap_or_default())
    }

    // -------------------------------------------------------------------------------
    // Filings

    /// Records an application. Checked against the region's rules; a referral filing's
    /// certificate must exist, be for this person, carry both seals and be valid on the start
    /// date. `replaces` names a long-term filing this one changes (allowed only after its
    /// minimum period).
    pub async fn apply_filing(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        app: &FilingApplication,
        channel: Channel,
        replaces: Option<i64>,
        today: NaiveDate,
    ) -> Result<StoredFiling, StoreError> {
        let person = fetch_person(&mut *w.tx, person_id).await?;
        if person.status != yibao_core::registry::PersonStatus::Active {
            return Err(invalid(
                "person",
                "not_insured",
                format!("参保状态为“{}”，不能办理备案", person.status.label().zh),
                format!("the person is {}; no filing can be made", person.status.label().en),
            ));
        }
        let rules = self.filing_rules(&person, app.start).await?;
        let validity = app.check(person.insured_region, &rules, today).map_err(StoreError::Problems)?;
        if channel == Channel::Online && app.delegate_id.is_some() {
            return Err(invalid(
                "delegate_id",
                "window_only",
                "委托他人办理请到窗口",
                "a delegate files at the window",
            ));
        }
        for d in app.documents.iter().filter_map(|d| d.document_id) {
            let owner: Option<i64> = sqlx::query_scalar("SELECT person_id FROM documents WHERE id = $1")
                .bind(d)
                .fetch_optional(&mut *w.tx)
                .await?;
            if owner != Some(person_id) {
                return Err(invalid(
                    "documents",
                    "document_unknown",
                    format!("上传的材料 #{d} 不存在或不属于本人"),
                    format!("uploaded document #{d} does not exist or is not the person's"),
                ));
            }
        }
        let referral_id = match app.referral_number() {
            Some(number) => {
                let r = self.referral_by_number(number).await?.ok_or_else(|| {
                    invalid(
                        "documents",
                        "referral_unknown",
                        format!("转诊证明 {number} 不存在"),
                        format!("no referral certificate {number}"),
                    )
                })?;
                let problem = if r.person_id != person_id {
                    Some(("referral_person", "转诊证明不是开给本人的", "the referral certificate is for someone else"))
                } else if !r.sealed() {
                    Some((
                        "referral_unsealed",
                        "转诊证明尚未加盖医院医保窗口印章",
                        "the referral certificate lacks the social security window's seal",
                    ))
                } else if app.start < r.valid_from || app.start > r.valid_to {
                    Some((
                        "referral_expired",
                        "就医开始日期不在转诊证明有效期内",
                        "the start date is outside the referral certificate's validity",
                    ))
                } else if app.destination.is_some_and(|d| !d.contains(r.destination)) {
                    Some((
                        "referral_destination",
                        "就医地与转诊证明的转往地区不符",
                        "the destination does not match the referral certificate's",
                    ))
                } else {
                    None
                };
                if let Some((code, zh, en)) = problem {
                    return Err(invalid("documents", code, zh, en));
                }
                Some(r.id)
            }
            None => None,
        };
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM filings WHERE person_id = $1 AND status = 'applied'")
                .bind(person_id)
                .fetch_one(&mut *w.tx)
                .await?;
        if pending > 0 {
            return Err(invalid(
                "filing",
                "pending",
                "已有一笔备案申请正在审核，请等待结果或先撤回",
                "an application is awaiting a decision; wait for it or withdraw it first",
            ));
        }
        if let Some(old) = replaces {
            let old = self.filing_in(w, old).await?;
            if old.person_id != person_id || old.status != FilingStatus::Approved || !old.kind.is_long_term() {
                return Err(invalid(
                    "replaces",
                    "invalid",
                    "只能变更本人有效的长期备案",
                    "only the person's approved long-term filing can be changed",
                ));
            }
            may_change(old.kind, old.start, &rules, today)?;
        }
        let documents = serde_json::to_string(&app.documents).map_err(|e| corrupt("documents", e))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO filings (person_id, kind, destination, institution, start_date, end_date, status, retroactive, \
             documents, referral_id, channel, delegate_id, replaces, applied_at, applied_by) \
             VALUES ($1, $2, $3, $4, $5, $6, 'applied', $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        )
        .bind(person_id)
        .bind(app.kind.code())
        .bind(app.destination.map(|d| i64::from(d.value())))
        .bind(app.institution.as_deref().map(str::trim))
        .bind(date_text(app.start))
        .bind(validity.end.map(date_text))
        .bind(i64::from(validity.retroactive))
        .bind(documents)
        .bind(referral_id)
        .bind(channel.code())
        .bind(app.delegate_id.as_ref().map(ToString::to_string))
        .bind(replaces)
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .fetch_one(&mut *w.tx)
        .await?;
        let after = self.filing_in(w, id).await?;
        w.record("filing.apply", "filing", &id.to_string(), None::<&()>, Some(&after)).await?;
        Ok(after)
    }

    async fn filing_in(&self, w: &mut WriteTx, id: i64) -> Result<StoredFiling, StoreError> {
        let sql = format!("SELECT {FILING_COLS} FROM {FILING_FROM} WHERE f.id = $1");
        fetch_one_by_id(&mut *w.tx, &sql, id, "filing", filing_from_row).await
    }

    pub async fn filing(&self, id: i64) -> Result<StoredFiling, StoreError> {
        let sql = format!("SELECT {FILING_COLS} FROM {FILING_FROM} WHERE f.id = $1");
        fetch_one_by_id(&self.pool, &sql, id, "filing", filing_from_row).await
    }

    /// A person's filings, newest first.
    pub async fn filings_of(&self, person_id: i64) -> Result<Vec<StoredFiling>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {FILING_COLS} FROM {FILING_FROM} WHERE f.person_id = $1 ORDER BY f.id DESC"))
                .bind(person_id)
                .fetch_all(&mut self.read_conn().await?)
                .await?;
        rows.iter().map(filing_from_row).collect()
    }

    /// Filings of persons insured in `scope`, optionally of one status, newest first.
    pub async fn filings_in(
        &self,
        scope: &Scope,
        status: Option<FilingStatus>,
        limit: i64,
    ) -> Result<Vec<StoredFiling>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {FILING_COLS} FROM {FILING_FROM} WHERE 1 = 1"));
        sql.scope_filter("p.insured_region", scope);
        if let Some(s) = status {
            let v = sql.arg(Arg::S(s.code().to_string()));
            sql.text.push_str(&format!(" AND f.status = {v}"));
        }
        let l = sql.arg(Arg::I(limit));
        sql.text.push_str(&format!(" ORDER BY f.id DESC LIMIT {l}"));
        sql.fetch_all(self).await?.iter().map(filing_from_row).collect()
    }

    /// A clerk's decision on an applied filing. Approving a change revokes the filing it
    /// replaces from the new one's start. Deciding twice is refused (the second finds no
    /// applied filing).
    pub async fn decide_filing(
        &self,
        w: &mut WriteTx,
        id: i64,
        version: i64,
        decision: &Decision,
    ) -> Result<StoredFiling, StoreError> {
        decision.check()?;
        let before = self.filing_in(w, id).await?;
        if before.status != FilingStatus::Applied {
            return Err(invalid(
                "filing",
                "decided",
                format!("该备案已是“{}”状态，不能再审核", before.status.label().zh),
                format!("the filing is {} already", before.status.label().en),
            ));
        }
        let (status, reason, note) = match decision {
            Decision::Approve => ("approved", None, None),
            Decision::Reject { reason, note } => ("rejected", Some(reason.code()), Some(note.trim().to_string())),
        };
        let n = sqlx::query(
            "UPDATE filings SET status = $1, reason = $2, note = $3, decided_at = $4, decided_by = $5, \
             version = version + 1 WHERE id = $6 AND version = $7 AND status = 'applied'",
        )
        .bind(status)
        .bind(reason)
        .bind(note)
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .bind(id)
        .bind(version)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(stale("filing"));
        }
        let after = self.filing_in(w, id).await?;
        w.record(&format!("filing.{status}"), "filing", &id.to_string(), Some(&before), Some(&after)).await?;
        if let (Decision::Approve, Some(old)) = (decision, before.replaces) {
            self.revoke_in(w, old, after.start).await?;
        }
        Ok(after)
    }

    async fn revoke_in(&self, w: &mut WriteTx, id: i64, from: NaiveDate) -> Result<StoredFiling, StoreError> {
        let before = self.filing_in(w, id).await?;
        sqlx::query(
            "UPDATE filings SET status = 'revoked', revoked_from = $1, version = version + 1 WHERE id = $2 AND version = $3",
        )
        .bind(date_text(from))
        .bind(id)
        .bind(before.version)
        .execute(&mut *w.tx)
        .await?;
        let after = self.filing_in(w, id).await?;
        w.record("filing.revoke", "filing", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// Withdraws an application, or revokes an approved filing from `today` (a long-term
    /// one only after the region's minimum period).
    pub async fn revoke_filing(&self, w: &mut WriteTx, id: i64, today: NaiveDate) -> Result<StoredFiling, StoreError> {
        let f = self.filing_in(w, id).await?;
        match f.status_on(today) {
            FilingStatus::Applied => self.revoke_in(w, id, f.start).await,
            FilingStatus::Approved => {
                let person = fetch_person(&mut *w.tx, f.person_id).await?;
                let rules = self.filing_rules(&person, f.start).await?;
                may_change(f.kind, f.start, &rules, today)?;
                self.revoke_in(w, id, today.max(f.start)).await
            }
            other => Err(invalid(
                "filing",
                "not_revocable",
                format!("该备案为“{}”，无需撤销", other.label().zh),
                format!("the filing is {}; there is nothing to revoke", other.label().en),
            )),
        }
    }

    // -------------------------------------------------------------------------------
    // Referral certificates

    /// Issues a referral certificate with the hospital's seal. Only a designated institution
    /// of county level or above that is allowed to may issue one.
    pub async fn issue_referral(
        &self,
        w: &mut WriteTx,
        issuer: &Institution,
        input: &ReferralInput,
        today: NaiveDate,
    ) -> Result<Referral, StoreError> {
        if !issuer.tier.may_issue_referrals() {
            return Err(invalid(
                "institution",
                "tier",
                format!("{}为{}医疗机构，县级以下机构不能开具转诊证明", issuer.name, issuer.tier.label().zh),
                format!(
                    "{} is a {} institution; below county level it cannot issue referrals",
                    issuer.name,
                    issuer.tier.label().en
                ),
            ));
        }
        if !issuer.may_issue_referrals || !issuer.designated_on(today) {
            return Err(invalid(
                "institution",
                "not_allowed",
                format!("{}未获准开具转诊证明", issuer.name),
                format!("{} is not allowed to issue referral certificates", issuer.name),
            ));
        }
        let mut e = Vec::new();
        if input.diagnosis.trim().is_empty() {
            e.push(InvalidValue::new("diagnosis", "required", "请填写诊断", "give the diagnosis"));
        }
        if input.hospital_seal_by.trim().is_empty() {
            e.push(InvalidValue::new("hospital_seal_by", "required", "请填写盖章经办人", "give who sealed it"));
        }
        if issuer.region.prefecture().contains(input.destination) {
            e.push(InvalidValue::new(
                "destination",
                "local",
                "转往地区在本统筹区内，无需转诊证明",
                "the destination is inside the pooling region; no referral certificate is needed",
            ));
        }
        let days = (input.valid_to - input.valid_from).num_days();
        if !(0..=MAX_REFERRAL_DAYS).contains(&days) || input.valid_from < today - chrono::Duration::days(30) {
            e.push(InvalidValue::new(
                "valid_to",
                "range",
                format!("有效期须自近期开始，最长 {MAX_REFERRAL_DAYS} 天"),
                format!("the validity must start recently and last at most {MAX_REFERRAL_DAYS} days"),
            ));
        }
        if !e.is_empty() {
            return Err(StoreError::Problems(e));
        }
        let person = self.person_by_resident_id(&input.resident_id).await?.ok_or(StoreError::NotFound("person"))?;
        let year = today.format("%Y").to_string();
        let prefix = format!("ZZ{}{year}", issuer.code);
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM referrals WHERE institution_id = $1 AND number LIKE $2")
            .bind(issuer.id)
            .bind(format!("{prefix}%"))
            .fetch_one(&mut *w.tx)
            .await?;
        let number = format!("{prefix}{:05}", n + 1);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO referrals (number, person_id, institution_id, diagnosis, destination, destination_institution, \
             valid_from, valid_to, hospital_seal_by, hospital_sealed_at, issued_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(&number)
        .bind(person.id)
        .bind(issuer.id)
        .bind(input.diagnosis.trim())
        .bind(i64::from(input.destination.value()))
        .bind(input.destination_institution.as_deref().map(str::trim).filter(|s| !s.is_empty()))
        .bind(date_text(input.valid_from))
        .bind(date_text(input.valid_to))
        .bind(input.hospital_seal_by.trim())
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .fetch_one(&mut *w.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "number"))?;
        let after = self.referral_in(w, id).await?;
        w.record("referral.issue", "referral", &number, None::<&()>, Some(&after)).await?;
        Ok(after)
    }

    /// The second confirmation: the issuing hospital's social security window seals it.
    pub async fn seal_referral(
        &self,
        w: &mut WriteTx,
        issuer: &Institution,
        number: &str,
        by: &str,
    ) -> Result<Referral, StoreError> {
        let before = self.referral_by_number(number).await?.ok_or(StoreError::NotFound("referral"))?;
        if before.issuer_code != issuer.code {
            return Err(StoreError::NotFound("referral"));
        }
        if by.trim().is_empty() {
            return Err(invalid(
                "window_seal_by",
                "required",
                "请填写医保窗口盖章经办人",
                "give who sealed it at the window",
            ));
        }
        let n = sqlx::query(
            "UPDATE referrals SET window_seal_by = $1, window_sealed_at = $2 WHERE id = $3 AND window_sealed_at IS NULL",
        )
        .bind(by.trim())
        .bind(w.at().to_string())
        .bind(before.id)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(invalid(
                "referral",
                "sealed",
                "转诊证明已盖医保窗口印章",
                "the referral certificate is sealed already",
            ));
        }
        let after = self.referral_in(w, before.id).await?;
        w.record("referral.seal", "referral", number, Some(&before), Some(&after)).await?;
        Ok(after)
    }

    async fn referral_in(&self, w: &mut WriteTx, id: i64) -> Result<Referral, StoreError> {
        let sql = format!("SELECT {REFERRAL_COLS} FROM {REFERRAL_FROM} WHERE r.id = $1");
        fetch_one_by_id(&mut *w.tx, &sql, id, "referral", referral_from_row).await
    }

    /// The referral certificates an institution issued, newest first.
    pub async fn referrals_issued_by(&self, institution_id: i64, limit: i64) -> Result<Vec<Referral>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {REFERRAL_COLS} FROM {REFERRAL_FROM} WHERE r.institution_id = $1 ORDER BY r.id DESC LIMIT $2"
        ))
        .bind(institution_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(referral_from_row).collect()
    }

    pub async fn referral_by_number(&self, number: &str) -> Result<Option<Referral>, StoreError> {
        let row = sqlx::query(&format!("SELECT {REFERRAL_COLS} FROM {REFERRAL_FROM} WHERE r.number = $1"))
            .bind(number.trim())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(referral_from_row).transpose()
    }

    // -------------------------------------------------------------------------------
    // Cards

    /// Records a card application at a service point; the expected issue date is 30
    /// working days on. A person with a card in use (or being made) cannot apply; a lost or
    /// damaged card is replaced by the new one when it is activated.
    pub async fn apply_card(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        app: &CardApplication,
        today: NaiveDate,
    ) -> Result<Card, StoreError> {
        app.check().map_err(StoreError::Problems)?;
        fetch_person(&mut *w.tx, person_id).await?;
        let cards = self.cards_in(w, person_id).await?;
        if let Some(c) = cards.iter().find(|c| c.status.blocks_new_application()) {
            return Err(invalid(
                "card",
                "exists",
                format!("已有社会保障卡（{}），请先挂失或报损后再申请补换", c.status.label().zh),
                format!(
                    "a card exists ({}); report it lost or damaged before applying for a new one",
                    c.status.label().en
                ),
            ));
        }
        let replaces = cards.iter().find(|c| matches!(c.status, CardStatus::Lost | CardStatus::Damaged)).map(|c| c.id);
        let calendar = self.calendar().await?;
        let expected = expected_issue_date(&calendar, today)
            .map_err(|e| invalid("applied_on", "calendar", e.message.zh, e.message.en))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cards (person_id, status, bank, photo, photo_reference, applied_on, expected_on, replaces, \
             recorded_by, expected_provisional) VALUES ($1, 'applied', $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(person_id)
        .bind(app.bank.trim())
        .bind(app.photo.code())
        .bind(app.photo_reference.trim())
        .bind(date_text(today))
        .bind(date_text(expected.date))
        .bind(replaces)
        .bind(w.actor().label.clone())
        .bind(i64::from(expected.provisional))
        .fetch_one(&mut *w.tx)
        .await?;
        let after = self.card_in(w, id).await?;
        w.record("card.apply", "card", &id.to_string(), None::<&()>, Some(&after)).await?;
        Ok(after)
    }

    /// Moves a card on (collection, activation, loss, damage, cancellation) on `on`, which
    /// may not be in the future nor before the card's previous step.
    pub async fn card_event(
        &self,
        w: &mut WriteTx,
        card_id: i64,
        event: CardEvent,
        on: NaiveDate,
        today: NaiveDate,
    ) -> Result<Card, StoreError> {
        let before = self.card_in(w, card_id).await?;
        let status = before.status.apply(event)?;
        let last = [before.applied_on]
            .into_iter()
            .chain([before.collected_on, before.activated_on, before.lost_on, before.damaged_on].into_iter().flatten())
            .max()
            .unwrap_or(before.applied_on);
        if on > today || on < last {
            return Err(invalid(
                "on",
                "range",
                format!("日期须在 {last} 至 {today} 之间"),
                format!("the date must lie between {last} and {today}"),
            ));
        }
        let column = match event {
            CardEvent::Collect => "collected_on",
            CardEvent::Activate => "activated_on",
            CardEvent::ReportLost => "lost_on",
            CardEvent::ReportDamaged => "damaged_on",
            CardEvent::Replace | CardEvent::Cancel => "ended_on",
        };
        self.set_card_status(w, &before, status, column, on).await?;
        let after = self.card_in(w, card_id).await?;
        w.record(&format!("card.{}", status.code()), "card", &card_id.to_string(), Some(&before), Some(&after)).await?;
        if let (CardEvent::Activate, Some(old)) = (event, before.replaces) {
            let old_before = self.card_in(w, old).await?;
            let old_status = old_before.status.apply(CardEvent::Replace)?;
            self.set_card_status(w, &old_before, old_status, "ended_on", on).await?;
            let old_after = self.card_in(w, old).await?;
            w.record("card.replaced", "card", &old.to_string(), Some(&old_before), Some(&old_after)).await?;
        }
        Ok(after)
    }

    async fn set_card_status(
        &self,
        w: &mut WriteTx,
        card: &Card,
        status: CardStatus,
        column: &str,
        on: NaiveDate,
    ) -> Result<(), StoreError> {
        let n = sqlx::query(&format!(
            "UPDATE cards SET status = $1, {column} = $2, version = version + 1 WHERE id = $3 AND version = $4"
        ))
        .bind(status.code())
        .bind(date_text(on))
        .bind(card.id)
        .bind(card.version)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(stale("card"));
        }
        Ok(())
    }

    async fn card_in(&self, w: &mut WriteTx, id: i64) -> Result<Card, StoreError> {
        let sql = format!("SELECT {CARD_COLS} FROM cards WHERE id = $1");
        fetch_one_by_id(&mut *w.tx, &sql, id, "card", card_from_row).await
    }

    async fn cards_in(&self, w: &mut WriteTx, person_id: i64) -> Result<Vec<Card>, StoreError> {
        fetch_cards(&mut *w.tx, person_id).await
    }

    pub async fn card(&self, id: i64) -> Result<Card, StoreError> {
        let sql = format!("SELECT {CARD_COLS} FROM cards WHERE id = $1");
        fetch_one_by_id(&self.pool, &sql, id, "card", card_from_row).await
    }

    /// A person's cards, newest first.
    pub async fn cards_of(&self, person_id: i64) -> Result<Vec<Card>, StoreError> {
        fetch_cards(&mut self.read_conn().await?, person_id).await
    }

    // -------------------------------------------------------------------------------
    // No-card certificates

    /// Issues a no-card certificate from `from` for [`NO_CARD_DAYS`], optionally for the
    /// admitting institution. Refused while the person has an active card.
    pub async fn issue_no_card_certificate(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        institution_id: Option<i64>,
        from: NaiveDate,
    ) -> Result<NoCardCertificate, StoreError> {
        fetch_person(&mut *w.tx, person_id).await?;
        let cards: Vec<CardFacts> = self.cards_in(w, person_id).await?.iter().map(Card::facts).collect();
        if card_state_on(&cards, from) == CardState::Active {
            return Err(invalid(
                "card",
                "active",
                "本人社会保障卡正常，可直接持卡就医，无需无卡证明",
                "the person's card is active; no certificate is needed",
            ));
        }
        let to = from + chrono::Duration::days(NO_CARD_DAYS - 1);
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM no_card_certificates").fetch_one(&mut *w.tx).await?;
        let number = format!("WK{}{:06}", from.format("%Y"), n + 1);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO no_card_certificates (number, person_id, institution_id, valid_from, valid_to, issued_at, \
             issued_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&number)
        .bind(person_id)
        .bind(institution_id)
        .bind(date_text(from))
        .bind(date_text(to))
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .fetch_one(&mut *w.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "number"))?;
        let row = sqlx::query(&format!("SELECT {CERT_COLS} FROM no_card_certificates WHERE id = $1"))
            .bind(id)
            .fetch_one(&mut *w.tx)
            .await?;
        let after = certificate_from_row(&row)?;
        w.record("no_card_certificate.issue", "no_card_certificate", &number, None::<&()>, Some(&after)).await?;
        Ok(after)
    }

    pub async fn no_card_certificates_of(&self, person_id: i64) -> Result<Vec<NoCardCertificate>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {CERT_COLS} FROM no_card_certificates WHERE person_id = $1 ORDER BY id DESC"))
                .bind(person_id)
                .fetch_all(&mut self.read_conn().await?)
                .await?;
        rows.iter().map(certificate_from_row).collect()
    }

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
