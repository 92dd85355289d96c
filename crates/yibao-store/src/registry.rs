//! The registry: insured persons, employer units and medical institutions. Each change
//! bumps the record's version, keeps the whole new version in `record_versions` (the past
//! is never overwritten) and is audited.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::registry::{
    check_enrolment, Enrolment, HospitalGrade, InstitutionTier, PersonCategory, PersonStatus, Scheme,
};
use yibao_core::{
    AdminCode, AdminLevel, BankCardNumber, CreditCode, InvalidValue, PersonName, PhoneNumber, ResidentId, Scope, Sex,
};

use crate::error::parse_stored;
use crate::{Cached, Store, StoreError, WriteTx};

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
    pub bank_card: Option<BankCardNumber>,
    pub phone: Option<PhoneNumber>,
    pub status: PersonStatus,
    pub status_from: NaiveDate,
    pub version: i64,
    pub updated_at: String,
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
    pub bank_card: Option<BankCardNumber>,
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

// ---------------------------------------------------------------------------------------
// SQL helpers

/// The inclusive numeric range of region codes within a division.
pub(crate) fn region_range(code: AdminCode) -> (i64, i64) {
    let c = i64::from(code.value());
    match code.level() {
        AdminLevel::Province => (c, c + 9_999),
        AdminLevel::Prefecture => (c, c + 99),
        AdminLevel::County => (c, c),
    }
}

/// The exclusive upper bound of strings starting with `prefix` under binary collation.
pub(crate) fn prefix_upper(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// A bind value for dynamically built queries.
pub(crate) enum Arg {
    I(i64),
    S(String),
    /// Text or NULL.
    N(Option<String>),
}

pub(crate) struct Sql {
    pub(crate) text: String,
    args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Sql {
        Sql { text: text.to_string(), args: Vec::new() }
    }

    pub(crate) fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    /// `AND (col BETWEEN .. OR ..)` for the regions of a scope; an empty scope matches nothing.
    pub(crate) fn scope_filter(&mut self, column: &str, scope: &Scope) {
        if scope.regions().is_empty() {
            self.text.push_str(" AND 1 = 0");
            return;
        }
        let parts: Vec<String> = scope
            .regions()
            .iter()
            .map(|r| {
                let (lo, hi) = region_range(*r);
                if lo == hi {
                    // An equality lets an index on (region, id) return rows already in id order.
                    let v = self.arg(Arg::I(lo));
                    return format!("{column} = {v}");
                }
                let lo = self.arg(Arg::I(lo));
                let hi = self.arg(Arg::I(hi));
                format!("{column} BETWEEN {lo} AND {hi}")
            })
            .collect();
        self.text.push_str(&format!(" AND ({})", parts.join(" OR ")));
    }

    fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for a in &self.args {
            q = match a {
                Arg::I(i) => q.bind(*i),
                Arg::S(s) => q.bind(s.as_str()),
                Arg::N(s) => q.bind(s.as_deref()),
            };
        }
        q
    }

    pub(crate) async fn fetch_all(self, store: &Store) -> Result<Vec<AnyRow>, StoreError> {
        Ok(self.query().fetch_all(&store.pool).await?)
    }

    /// Inside a write transaction, seeing its own changes.
    pub(crate) async fn fetch_all_in(self, w: &mut crate::WriteTx) -> Result<Vec<AnyRow>, StoreError> {
        Ok(self.query().fetch_all(&mut *w.tx).await?)
    }

    pub(crate) async fn execute(self, conn: &mut crate::write::Conn) -> Result<u64, StoreError> {
        Ok(self.query().execute(conn).await?.rows_affected())
    }
}

const PERSON_COLS: &str = "p.id, p.resident_id, p.name, p.sex, p.birth_date, p.enrolment, p.scheme, p.category, \
    p.insured_region, p.pooling_region, p.hukou_region, p.employer_id, e.name, p.bank_name, p.bank_card, p.phone, \
    p.status, p.status_from, p.version, p.updated_at";
const PERSON_FROM: &str = "persons p LEFT JOIN employers e ON e.id = p.employer_id";

pub(crate) fn region_from(v: i64) -> Result<AdminCode, StoreError> {
    parse_stored("region", &format!("{v:06}"))
}

fn opt_parse<T: std::str::FromStr>(column: &str, v: Option<String>) -> Result<Option<T>, StoreError> {
    v.map(|s| parse_stored(column, &s)).transpose()
}

pub(crate) fn date_from(column: &str, v: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| StoreError::Corrupt(format!("{column} = {v:?}")))
}

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
        version: r.try_get(18)?,
        updated_at: r.try_get(19)?,
    })
}

const EMPLOYER_COLS: &str =
    "id, credit_code, name, region, contact_name, contact_phone, version, updated_at, bank_name, bank_card";

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

/// Fetches one record by id, in a transaction or from the pool.
pub(crate) async fn fetch_one_by_id<'e, E, T>(
    e: E,
    sql: &str,
    id: i64,
    what: &'static str,
    from_row: fn(&AnyRow) -> Result<T, StoreError>,
) -> Result<T, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(sql).bind(id).fetch_optional(e).await?.ok_or(StoreError::NotFound(what))?;
    from_row(&row)
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

async fn fetch_employer<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
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

pub(crate) fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
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

// ---------------------------------------------------------------------------------------
// Persons

impl Store {
    pub async fn create_person(&self, wtx: &mut WriteTx, input: &PersonInput) -> Result<Person, StoreError> {
        check_enrolment(input.enrolment, input.category, input.employer_id.is_some())?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO persons (resident_id, name, sex, birth_date, enrolment, scheme, category, insured_region, \
             pooling_region, hukou_region, employer_id, bank_name, bank_card, phone, status, status_from, version, \
             updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,1,$17) RETURNING id",
        )
        .bind(input.resident_id.as_str().to_string())
        .bind(input.name.as_str().to_string())
        .bind(input.resident_id.sex().code())
        .bind(date_text(input.resident_id.birth_date()))
        .bind(input.enrolment.code())
        .bind(input.enrolment.scheme().code())
        .bind(input.category.code())
        .bind(i64::from(input.insured_region.value()))
        .bind(i64::from(input.insured_region.prefecture().value()))
        .bind(i64::from(input.hukou_region.value()))
        .bind(input.employer_id)
        .bind(input.bank_name.clone())
        .bind(input.bank_card.as_ref().map(|c| c.as_str().to_string()))
        .bind(input.phone.as_ref().map(|p| p.as_str().to_string()))
        .bind(input.status.code())
        .bind(date_text(input.status_from))
        .bind(wtx.at().to_string())
        .fetch_one(&mut *wtx.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "resident_id"))?;
        let person = fetch_person(&mut *wtx.tx, id).await?;
        record_change(wtx, "person", id, 1, None, &person).await?;
        Ok(person)
    }

    /// Updates a person if nobody changed it since `expected_version` was read.
    pub async fn update_person(
        &self,
        wtx: &mut WriteTx,
        id: i64,
        expected_version: i64,
        input: &PersonInput,
    ) -> Result<Person, StoreError> {
        check_enrolment(input.enrolment, input.category, input.employer_id.is_some())?;
        let before = fetch_person(&mut *wtx.tx, id).await?;
        if before.resident_id != input.resident_id {
            return Err(InvalidValue::new(
                "resident_id",
                "immutable",
                "身份证号码不能修改；如登记有误，请注销后重新登记",
                "a resident ID number cannot be changed; if it was registered wrongly, cancel and register again",
            )
            .into());
        }
        let n = sqlx::query(
            "UPDATE persons SET name=$1, enrolment=$2, scheme=$3, category=$4, insured_region=$5, pooling_region=$6, \
             hukou_region=$7, employer_id=$8, bank_name=$9, bank_card=$10, phone=$11, status=$12, status_from=$13, \
             version = version + 1, updated_at=$14 WHERE id=$15 AND version=$16",
        )
        .bind(input.name.as_str().to_string())
        .bind(input.enrolment.code())
        .bind(input.enrolment.scheme().code())
        .bind(input.category.code())
        .bind(i64::from(input.insured_region.value()))
        .bind(i64::from(input.insured_region.prefecture().value()))
        .bind(i64::from(input.hukou_region.value()))
        .bind(input.employer_id)
        .bind(input.bank_name.clone())
        .bind(input.bank_card.as_ref().map(|c| c.as_str().to_string()))
        .bind(input.phone.as_ref().map(|p| p.as_str().to_string()))
        .bind(input.status.code())
        .bind(date_text(input.status_from))
        .bind(wtx.at().to_string())
        .bind(id)
        .bind(expected_version)
        .execute(&mut *wtx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Stale("person"));
        }
        let after = fetch_person(&mut *wtx.tx, id).await?;
        record_change(wtx, "person", id, after.version, Some(&before), &after).await?;
        Ok(after)
    }

    pub async fn person(&self, id: i64) -> Result<Person, StoreError> {
        fetch_person(&mut self.read_conn().await?, id).await
    }

    pub async fn person_by_resident_id(&self, rid: &ResidentId) -> Result<Option<Person>, StoreError> {
        let row = sqlx::query(&format!("SELECT {PERSON_COLS} FROM {PERSON_FROM} WHERE p.resident_id = $1"))
            .bind(rid.as_str().to_string())
            .fetch_optional(&mut self.read_conn().await?)
            .await?;
        row.as_ref().map(person_from_row).transpose()
    }

    /// Searches persons by name prefix or resident ID prefix, within a region and scope,
    /// in pages (keyset pagination: every page is an index range scan, however deep).
    pub async fn search_persons(&self, q: &PersonQuery) -> Result<Page<Person>, StoreError> {
        let limit = q.limit.clamp(1, 200);
        let text = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let by_id =
            text.is_some_and(|t| t.len() >= 4 && t.bytes().all(|b| b.is_ascii_digit() || b == b'X' || b == b'x'));
        let mut sql = Sql::new(&format!("SELECT {PERSON_COLS} FROM {PERSON_FROM} WHERE 1 = 1"));
        let order = match text {
            Some(t) if by_id => {
                let t = t.to_ascii_uppercase();
                let lo = sql.arg(Arg::S(t.clone()));
                let hi = sql.arg(Arg::S(prefix_upper(&t)));
                sql.text.push_str(&format!(" AND p.resident_id >= {lo} AND p.resident_id < {hi}"));
                if let Some(after) = &q.after {
                    let a = sql.arg(Arg::S(after.clone()));
                    sql.text.push_str(&format!(" AND p.resident_id > {a}"));
                }
                " ORDER BY p.resident_id"
            }
            Some(t) => {
                let lo = sql.arg(Arg::S(t.to_string()));
                let hi = sql.arg(Arg::S(prefix_upper(t)));
                sql.text.push_str(&format!(" AND p.name >= {lo} AND p.name < {hi}"));
                if let Some((after_id, after_name)) = q.after.as_deref().and_then(|a| a.split_once(':')) {
                    let after_id: i64 = after_id.parse().unwrap_or(0);
                    let n1 = sql.arg(Arg::S(after_name.to_string()));
                    let n2 = sql.arg(Arg::S(after_name.to_string()));
                    let i = sql.arg(Arg::I(after_id));
                    sql.text.push_str(&format!(" AND (p.name > {n1} OR (p.name = {n2} AND p.id > {i}))"));
                }
                " ORDER BY p.name, p.id"
            }
            None => {
                if let Some(after) = q.after.as_deref().and_then(|a| a.parse::<i64>().ok()) {
                    let a = sql.arg(Arg::I(after));
                    sql.text.push_str(&format!(" AND p.id > {a}"));
                }
                " ORDER BY p.id"
            }
        };
        if let Some(region) = q.region {
            sql.scope_filter("p.insured_region", &Scope::new(vec![region]));
        }
        if let Some(scope) = &q.scope {
            sql.scope_filter("p.insured_region", scope);
        }
        sql.text.push_str(order);
        let l = sql.arg(Arg::I(limit + 1));
        sql.text.push_str(&format!(" LIMIT {l}"));
        let rows = sql.fetch_all(self).await?;
        let mut items = rows.iter().map(person_from_row).collect::<Result<Vec<_>, _>>()?;
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|p| match text {
                Some(_) if by_id => p.resident_id.to_string(),
                Some(_) => format!("{}:{}", p.id, p.name),
                None => p.id.to_string(),
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// How many persons are insured within `scope` (`None`: everywhere).
    pub async fn count_persons(&self, scope: Option<&Scope>) -> Result<i64, StoreError> {
        let mut sql = Sql::new("SELECT COUNT(*) FROM persons p WHERE 1 = 1");
        if let Some(scope) = scope {
            sql.scope_filter("p.insured_region", scope);
        }
        let rows = sql.fetch_all(self).await?;
        Ok(rows.first().map(|r| r.try_get::<i64, _>(0)).transpose()?.unwrap_or(0))
    }

    /// Every version of a record, newest first.
    pub async fn record_versions(&self, entity: &str, id: i64) -> Result<Vec<RecordVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, recorded_at, recorded_by, data FROM record_versions \
             WHERE entity = $1 AND entity_id = $2 ORDER BY version DESC",
        )
        .bind(entity)
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let data: String = r.try_get(3)?;
                Ok(RecordVersion {
                    version: r.try_get(0)?,
                    recorded_at: r.try_get(1)?,
                    recorded_by: r.try_get(2)?,
                    data: serde_json::from_str(&data).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }

    // -----------------------------------------------------------------------------------
    // Employers

    pub async fn create_employer(&self, wtx: &mut WriteTx, input: &EmployerInput) -> Result<Employer, StoreError> {
        input.validate()?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO employers (credit_code, name, region, contact_name, contact_phone, version, updated_at, \
             bank_name, bank_card) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8) RETURNING id",
        )
        .bind(input.credit_code.as_str().to_string())
        .bind(input.name.trim().to_string())
        .bind(i64::from(input.region.value()))
        .bind(input.contact_name.clone())
        .bind(input.contact_phone.as_ref().map(|p| p.as_str().to_string()))
        .bind(wtx.at().to_string())
        .bind(input.bank_name.clone())
        .bind(input.bank_card.as_ref().map(ToString::to_string))
        .fetch_one(&mut *wtx.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "credit_code"))?;
        let employer = fetch_employer(&mut *wtx.tx, id).await?;
        record_change(wtx, "employer", id, 1, None, &employer).await?;
        Ok(employer)
    }

    pub async fn update_employer(
        &self,
        wtx: &mut WriteTx,
        id: i64,
        expected_version: i64,
        input: &EmployerInput,
    ) -> Result<Employer, StoreError> {
        input.validate()?;
        let before = fetch_employer(&mut *wtx.tx, id).await?;
        let n = sqlx::query(
            "UPDATE employers SET credit_code=$1, name=$2, region=$3, contact_name=$4, contact_phone=$5, \
             version = version + 1, updated_at=$6, bank_name=$9, bank_card=$10 WHERE id=$7 AND version=$8",
        )
        .bind(input.credit_code.as_str().to_string())
        .bind(input.name.trim().to_string())
        .bind(i64::from(input.region.value()))
        .bind(input.contact_name.clone())
        .bind(input.contact_phone.as_ref().map(|p| p.as_str().to_string()))
        .bind(wtx.at().to_string())
        .bind(id)
        .bind(expected_version)
        .bind(input.bank_name.clone())
        .bind(input.bank_card.as_ref().map(ToString::to_string))
        .execute(&mut *wtx.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "credit_code"))?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Stale("employer"));
        }
        let after = fetch_employer(&mut *wtx.tx, id).await?;
        record_change(wtx, "employer", id, after.version, Some(&before), &after).await?;
        Ok(after)
    }

    pub async fn employer(&self, id: i64) -> Result<Employer, StoreError> {
        fetch_employer(&self.pool, id).await
    }

    /// Employers in scope, by name prefix, first `limit`.
    pub async fn list_employers(
        &self,
        text: Option<&str>,
        scope: Option<&Scope>,
        limit: i64,
    ) -> Result<Vec<Employer>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {EMPLOYER_COLS} FROM employers WHERE 1 = 1"));
        if let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) {
            let lo = sql.arg(Arg::S(t.to_string()));
            let hi = sql.arg(Arg::S(prefix_upper(t)));
            sql.text.push_str(&format!(" AND (name >= {lo} AND name < {hi})"));
        }
        if let Some(scope) = scope {
            sql.scope_filter("region", scope);
        }
        let l = sql.arg(Arg::I(limit.clamp(1, 500)));
        sql.text.push_str(&format!(" ORDER BY id LIMIT {l}"));
        sql.fetch_all(self).await?.iter().map(employer_from_row).collect()
    }

    // -----------------------------------------------------------------------------------
    // Institutions

    pub async fn create_institution(
        &self,
        wtx: &mut WriteTx,
        input: &InstitutionInput,
    ) -> Result<Institution, StoreError> {
        wtx.forget(Cached::Credentials);
        input.validate()?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO institutions (code, name, region, tier, grade, designated_from, designated_to, \
             may_issue_referrals, direct_settlement, version, updated_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,1,$10) RETURNING id",
        )
        .bind(input.code.clone())
        .bind(input.name.trim().to_string())
        .bind(i64::from(input.region.value()))
        .bind(input.tier.code())
        .bind(input.grade.code())
        .bind(input.designated_from.map(date_text))
        .bind(input.designated_to.map(date_text))
        .bind(i64::from(input.may_issue_referrals))
        .bind(i64::from(input.direct_settlement))
        .bind(wtx.at().to_string())
        .fetch_one(&mut *wtx.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "code"))?;
        let inst = fetch_institution(&mut *wtx.tx, id).await?;
        record_change(wtx, "institution", id, 1, None, &inst).await?;
        Ok(inst)
    }

    pub async fn update_institution(
        &self,
        wtx: &mut WriteTx,
        id: i64,
        expected_version: i64,
        input: &InstitutionInput,
    ) -> Result<Institution, StoreError> {
        wtx.forget(Cached::Credentials);
        input.validate()?;
        let before = fetch_institution(&mut *wtx.tx, id).await?;
        let n = sqlx::query(
            "UPDATE institutions SET code=$1, name=$2, region=$3, tier=$4, grade=$5, designated_from=$6, \
             designated_to=$7, may_issue_referrals=$8, direct_settlement=$9, version = version + 1, updated_at=$10 \
             WHERE id=$11 AND version=$12",
        )
        .bind(input.code.clone())
        .bind(input.name.trim().to_string())
        .bind(i64::from(input.region.value()))
        .bind(input.tier.code())
        .bind(input.grade.code())
        .bind(input.designated_from.map(date_text))
        .bind(input.designated_to.map(date_text))
        .bind(i64::from(input.may_issue_referrals))
        .bind(i64::from(input.direct_settlement))
        .bind(wtx.at().to_string())
        .bind(id)
        .bind(expected_version)
        .execute(&mut *wtx.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "code"))?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Stale("institution"));
        }
        let after = fetch_institution(&mut *wtx.tx, id).await?;
        record_change(wtx, "institution", id, after.version, Some(&before), &after).await?;
        Ok(after)
    }

    pub async fn institution(&self, id: i64) -> Result<Institution, StoreError> {
        fetch_institution(&self.pool, id).await
    }

    /// An institution by its national code (`fixmedins_code`).
    pub async fn institution_by_code(&self, code: &str) -> Result<Institution, StoreError> {
        let row = sqlx::query(&format!("SELECT {INSTITUTION_COLS} FROM institutions WHERE code = $1"))
            .bind(code.trim())
            .fetch_optional(&mut self.read_conn().await?)
            .await?
            .ok_or(StoreError::NotFound("institution"))?;
        institution_from_row(&row)
    }

    /// Institutions, optionally within a region, by name prefix. The list of designated
    /// institutions is public information, so it is not scoped.
    pub async fn list_institutions(
        &self,
        text: Option<&str>,
        region: Option<AdminCode>,
    ) -> Result<Vec<Institution>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {INSTITUTION_COLS} FROM institutions WHERE 1 = 1"));
        if let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) {
            let lo = sql.arg(Arg::S(t.to_string()));
            let hi = sql.arg(Arg::S(prefix_upper(t)));
            sql.text.push_str(&format!(" AND (name >= {lo} AND name < {hi})"));
        }
        if let Some(r) = region {
            sql.scope_filter("region", &Scope::new(vec![r]));
        }
        sql.text.push_str(" ORDER BY region, id LIMIT 500");
        sql.fetch_all(self).await?.iter().map(institution_from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_ranges() {
        let c = |s: &str| s.parse::<AdminCode>().unwrap();
        assert_eq!(region_range(c("620000")), (620_000, 629_999));
        assert_eq!(region_range(c("620300")), (620_300, 620_399));
        assert_eq!(region_range(c("620302")), (620_302, 620_302));
    }
}
