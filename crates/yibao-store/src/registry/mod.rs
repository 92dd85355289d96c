//! The registry: insured persons, employer units and medical institutions. Each change
//! bumps the record's version, keeps the whole new version in `record_versions` (the past
//! is never overwritten) and is audited.

mod employers;
mod institutions;
mod persons;

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::registry::{
    check_enrolment, Enrolment, HospitalGrade, InstitutionTier, PersonCategory, PersonStatus, Scheme,
};
use yibao_core::{
    AdminCode, BankCardNumber, CreditCode, InvalidValue, PersonName, PhoneNumber, ResidentId, Scope, Sex,
};

use crate::db::error::parse_stored;
use crate::db::query::{date_from, date_text, fetch_one_by_id, opt_parse, prefix_upper, region_from, Arg, Sql};
use crate::{Store, StoreError, WriteTx};

// ---------------------------------------------------------------------------------------
// Types

/// What a clerk enters for a person. Everything else (sex, birth date, scheme, pooling
/// region) is derived.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PersonInput {
    pub resident_id: ResidentId,
    pub name: PersonName,
    pub enrolment: Enrolment,
    pub category: PersonCategory,
    pub insured_region: AdminCode,
    pub hukou_region: AdminCode,
    pub employer_id: Option<i64>,
    pub bank_name: Option<String>,
    /// Masked, with a digest, when serialised (into the audit log).
    #[serde(serialize_with = "yibao_core::bank_card::masked_for_audit")]
    pub bank_card: Option<BankCardNumber>,
    pub phone: Option<PhoneNumber>,
    pub status: PersonStatus,
    pub status_from: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub id: i64,
    pub resident_id: ResidentId,
    pub name: PersonName,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    pub enrolment: Enrolment,
    pub scheme: Scheme,
    pub category: PersonCategory,
    /// 参保地 (`insuplc_admdvs`).
    pub insured_region: AdminCode,
    /// 统筹区: the prefecture-level pooling region of the insured region.
    pub pooling_region: AdminCode,
    pub hukou_region: AdminCode,
    pub employer_id: Option<i64>,
    pub employer_name: Option<String>,
    pub bank_name: Option<String>,
    /// Masked, with a digest, when serialised (into the audit log).
    #[serde(serialize_with = "yibao_core::bank_card::masked_for_audit")]
    pub bank_card: Option<BankCardNumber>,
    pub phone: Option<PhoneNumber>,
    pub status: PersonStatus,
    pub status_from: NaiveDate,
    /// A bank account staff registered, until a second person confirms it.
    pub account_check: Option<AccountCheck>,
    pub version: i64,
    pub updated_at: String,
}

/// A registered bank account that waits for confirmation: who of staff changed it, and the
/// account confirmed before (none where none was).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountCheck {
    pub changed_by: String,
    pub confirmed_bank_name: Option<String>,
    /// Masked, with a digest, when serialised (into the audit log).
    #[serde(serialize_with = "yibao_core::bank_card::masked_for_audit")]
    pub confirmed_bank_card: Option<BankCardNumber>,
}

/// Whose registered account: an insured person's or an employer unit's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountHolder {
    Person(i64),
    Employer(i64),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmployerInput {
    pub credit_code: CreditCode,
    pub name: String,
    pub region: AdminCode,
    pub contact_name: Option<String>,
    pub contact_phone: Option<PhoneNumber>,
    /// The unit's account, for the claims it files for its employees.
    #[serde(default)]
    pub bank_name: Option<String>,
    #[serde(default)]
    /// Masked, with a digest, when serialised (into the audit log).
    #[serde(serialize_with = "yibao_core::bank_card::masked_for_audit")]
    pub bank_card: Option<BankCardNumber>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Employer {
    pub id: i64,
    pub credit_code: CreditCode,
    pub name: String,
    pub region: AdminCode,
    pub contact_name: Option<String>,
    pub contact_phone: Option<PhoneNumber>,
    pub bank_name: Option<String>,
    /// Masked, with a digest, when serialised (into the audit log).
    #[serde(serialize_with = "yibao_core::bank_card::masked_for_audit")]
    pub bank_card: Option<BankCardNumber>,
    /// A bank account staff registered, until a second person confirms it.
    pub account_check: Option<AccountCheck>,
    pub version: i64,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstitutionInput {
    /// National designated institution code (`fixmedins_code`), e.g. `H62030200001`.
    pub code: String,
    pub name: String,
    pub region: AdminCode,
    pub tier: InstitutionTier,
    pub grade: HospitalGrade,
    pub designated_from: Option<NaiveDate>,
    pub designated_to: Option<NaiveDate>,
    pub may_issue_referrals: bool,
    pub direct_settlement: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Institution {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub region: AdminCode,
    pub tier: InstitutionTier,
    pub grade: HospitalGrade,
    pub designated_from: Option<NaiveDate>,
    pub designated_to: Option<NaiveDate>,
    pub may_issue_referrals: bool,
    pub direct_settlement: bool,
    pub version: i64,
    pub updated_at: String,
}

impl Institution {
    /// Whether the institution is designated (定点) on `date`.
    pub fn designated_on(&self, date: NaiveDate) -> bool {
        match self.designated_from {
            Some(from) => from <= date && self.designated_to.is_none_or(|to| date <= to),
            None => false,
        }
    }
}

impl InstitutionInput {
    pub fn validate(&self) -> Result<(), InvalidValue> {
        let code_ok = (6..=20).contains(&self.code.len()) && self.code.bytes().all(|b| b.is_ascii_alphanumeric());
        if !code_ok {
            return Err(InvalidValue::new(
                "code",
                "format",
                "机构编码应为 6–20 位字母或数字，如 H62030200001",
                "an institution code has 6-20 letters or digits, e.g. H62030200001",
            ));
        }
        require_text("name", &self.name)?;
        if self.may_issue_referrals && !self.tier.may_issue_referrals() {
            return Err(InvalidValue::new(
                "may_issue_referrals",
                "tier_too_low",
                "只有县级及以上定点医疗机构可以开具转诊证明",
                "only designated institutions of county level or above may issue referral certificates",
            ));
        }
        if let (Some(from), Some(to)) = (self.designated_from, self.designated_to) {
            if to < from {
                return Err(InvalidValue::new(
                    "designated_to",
                    "before_start",
                    "定点截止日期不能早于起始日期",
                    "the designation cannot end before it starts",
                ));
            }
        }
        if self.designated_from.is_none() && (self.direct_settlement || self.designated_to.is_some()) {
            return Err(InvalidValue::new(
                "designated_from",
                "required",
                "直接结算须先确定定点起始日期",
                "direct settlement needs a designation start date",
            ));
        }
        Ok(())
    }
}

impl EmployerInput {
    pub fn validate(&self) -> Result<(), InvalidValue> {
        require_text("name", &self.name)
    }
}

fn require_text(field: &'static str, value: &str) -> Result<(), InvalidValue> {
    let n = value.trim().chars().count();
    if n == 0 || n > 100 {
        return Err(InvalidValue::new(
            field,
            "required",
            "必填，且不超过 100 个字",
            "required, at most 100 characters",
        ));
    }
    Ok(())
}

/// One version of a registry record.
#[derive(Debug, Clone, Serialize)]
pub struct RecordVersion {
    pub version: i64,
    pub recorded_at: String,
    pub recorded_by: String,
    pub data: serde_json::Value,
}

/// A search of the registry. `scope` limits it to the regions an account may see
/// (`None` means unrestricted, for system jobs).
#[derive(Debug, Clone, Default)]
pub struct PersonQuery {
    /// A name prefix, or a resident ID prefix (four or more leading digits).
    pub text: Option<String>,
    pub region: Option<AdminCode>,
    pub scope: Option<Scope>,
    pub after: Option<String>,
    pub limit: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next: Option<String>,
}

const PERSON_COLS: &str = "p.id, p.resident_id, p.name, p.sex, p.birth_date, p.enrolment, p.scheme, p.category, \
    p.insured_region, p.pooling_region, p.hukou_region, p.employer_id, e.name, p.bank_name, p.bank_card, p.phone, \
    p.status, p.status_from, p.version, p.updated_at, p.bank_unconfirmed_by, p.confirmed_bank_name, \
    p.confirmed_bank_card";
const PERSON_FROM: &str = "persons p LEFT JOIN employers e ON e.id = p.employer_id";

fn person_from_row(r: &AnyRow) -> Result<Person, StoreError> {
    let sex: String = r.try_get(3)?;
    Ok(Person {
        id: r.try_get(0)?,
        resident_id: parse_stored("resident_id", &r.try_get::<String, _>(1)?)?,
        name: parse_stored("name", &r.try_get::<String, _>(2)?)?,
        sex: if sex == "male" { Sex::Male } else { Sex::Female },
        birth_date: date_from("birth_date", &r.try_get::<String, _>(4)?)?,
        enrolment: Enrolment::parse(&r.try_get::<String, _>(5)?)?,
        scheme: Scheme::parse(&r.try_get::<String, _>(6)?)?,
        category: PersonCategory::parse(&r.try_get::<String, _>(7)?)?,
        insured_region: region_from(r.try_get(8)?)?,
        pooling_region: region_from(r.try_get(9)?)?,
        hukou_region: region_from(r.try_get(10)?)?,
        employer_id: r.try_get(11)?,
        employer_name: r.try_get(12)?,
        bank_name: r.try_get(13)?,
        bank_card: opt_parse("bank_card", r.try_get(14)?)?,
        phone: opt_parse("phone", r.try_get(15)?)?,
        status: PersonStatus::parse(&r.try_get::<String, _>(16)?)?,
        status_from: date_from("status_from", &r.try_get::<String, _>(17)?)?,
        account_check: account_check_from(r, 20)?,
        version: r.try_get(18)?,
        updated_at: r.try_get(19)?,
    })
}

/// The account check in the three columns from `at` (who changed it, the confirmed name and card).
fn account_check_from(r: &AnyRow, at: usize) -> Result<Option<AccountCheck>, StoreError> {
    let Some(changed_by) = r.try_get::<Option<String>, _>(at)? else { return Ok(None) };
    Ok(Some(AccountCheck {
        changed_by,
        confirmed_bank_name: r.try_get(at + 1)?,
        confirmed_bank_card: opt_parse("confirmed_bank_card", r.try_get(at + 2)?)?,
    }))
}

/// The account check after staff member `by` registers `(bank_name, bank_card)` where
/// `before` was registered with `check`: none when nothing changed or the account confirmed
/// before is registered again.
pub(crate) fn account_check_after(
    before: (&Option<String>, &Option<BankCardNumber>, &Option<AccountCheck>),
    after: (&Option<String>, &Option<BankCardNumber>),
    by: &str,
) -> Option<AccountCheck> {
    let (name, card, check) = before;
    let confirmed = match check {
        Some(c) => (c.confirmed_bank_name.clone(), c.confirmed_bank_card.clone()),
        None => (name.clone(), card.clone()),
    };
    if (after.0, after.1) == (&confirmed.0, &confirmed.1) {
        return None;
    }
    if (after.0, after.1) == (name, card) {
        return check.clone();
    }
    // Only the bank's name corrected on a card still waiting: whoever chose the card still
    // may not confirm it.
    let changed_by = match check {
        Some(c) if after.1 == card => c.changed_by.clone(),
        _ => by.to_string(),
    };
    Some(AccountCheck { changed_by, confirmed_bank_name: confirmed.0, confirmed_bank_card: confirmed.1 })
}

const EMPLOYER_COLS: &str = "id, credit_code, name, region, contact_name, contact_phone, version, updated_at, \
    bank_name, bank_card, bank_unconfirmed_by, confirmed_bank_name, confirmed_bank_card";

fn employer_from_row(r: &AnyRow) -> Result<Employer, StoreError> {
    Ok(Employer {
        id: r.try_get(0)?,
        credit_code: parse_stored("credit_code", &r.try_get::<String, _>(1)?)?,
        name: r.try_get(2)?,
        region: region_from(r.try_get(3)?)?,
        contact_name: r.try_get(4)?,
        contact_phone: opt_parse("contact_phone", r.try_get(5)?)?,
        bank_name: r.try_get(8)?,
        bank_card: opt_parse("bank_card", r.try_get(9)?)?,
        account_check: account_check_from(r, 10)?,
        version: r.try_get(6)?,
        updated_at: r.try_get(7)?,
    })
}

const INSTITUTION_COLS: &str = "id, code, name, region, tier, grade, designated_from, designated_to, \
    may_issue_referrals, direct_settlement, version, updated_at";

fn institution_from_row(r: &AnyRow) -> Result<Institution, StoreError> {
    let opt_date = |i: usize| -> Result<Option<NaiveDate>, StoreError> {
        r.try_get::<Option<String>, _>(i)?.map(|s| date_from("designated", &s)).transpose()
    };
    Ok(Institution {
        id: r.try_get(0)?,
        code: r.try_get(1)?,
        name: r.try_get(2)?,
        region: region_from(r.try_get(3)?)?,
        tier: InstitutionTier::parse(&r.try_get::<String, _>(4)?)?,
        grade: HospitalGrade::parse(&r.try_get::<String, _>(5)?)?,
        designated_from: opt_date(6)?,
        designated_to: opt_date(7)?,
        may_issue_referrals: r.try_get::<i64, _>(8)? != 0,
        direct_settlement: r.try_get::<i64, _>(9)? != 0,
        version: r.try_get(10)?,
        updated_at: r.try_get(11)?,
    })
}

pub(crate) async fn fetch_person<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    e: E,
    id: i64,
) -> Result<Person, StoreError> {
    fetch_one_by_id(
        e,
        &format!("SELECT {PERSON_COLS} FROM {PERSON_FROM} WHERE p.id = $1"),
        id,
        "person",
        person_from_row,
    )
    .await
}

pub(crate) async fn fetch_employer<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    e: E,
    id: i64,
) -> Result<Employer, StoreError> {
    fetch_one_by_id(
        e,
        &format!("SELECT {EMPLOYER_COLS} FROM employers WHERE id = $1"),
        id,
        "employer",
        employer_from_row,
    )
    .await
}

async fn fetch_institution<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    e: E,
    id: i64,
) -> Result<Institution, StoreError> {
    let sql = format!("SELECT {INSTITUTION_COLS} FROM institutions WHERE id = $1");
    fetch_one_by_id(e, &sql, id, "institution", institution_from_row).await
}

/// Keeps the new version of a registry record and audits the change: `{entity}.create`
/// when there is no `before`, `{entity}.update` otherwise.
async fn record_change<T: Serialize>(
    wtx: &mut WriteTx,
    entity: &str,
    id: i64,
    version: i64,
    before: Option<&T>,
    after: &T,
) -> Result<(), StoreError> {
    let data = serde_json::to_string(after).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO record_versions (entity, entity_id, version, recorded_at, recorded_by, data) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(entity)
    .bind(id)
    .bind(version)
    .bind(wtx.at().to_string())
    .bind(wtx.actor().label.clone())
    .bind(data)
    .execute(&mut *wtx.tx)
    .await?;
    let action = format!("{entity}.{}", if before.is_some() { "update" } else { "create" });
    wtx.record(&action, entity, &id.to_string(), before, Some(after)).await
}
