//! 门诊共济: the holder of an employee's individual account lets a spouse, a parent or a child
//! use it — the member named by ID number and name, the relation plausible by the two ID
//! numbers' birth dates — until the holder revokes it, which stops it at once.

use chrono::Datelike;
use serde::Serialize;
use sqlx::Row;
use yibao_core::registry::Scheme;
use yibao_core::{InvalidValue, ResidentId, Text};

use crate::db::query::corrupt;
use crate::registry::fetch_person;
use crate::{Store, StoreError, WriteTx};

/// How the member is related to the holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    Spouse,
    /// The holder's father or mother.
    Parent,
    /// The holder's son or daughter.
    Child,
}

impl Relation {
    pub fn code(self) -> &'static str {
        match self {
            Relation::Spouse => "spouse",
            Relation::Parent => "parent",
            Relation::Child => "child",
        }
    }

    pub fn parse(s: &str) -> Result<Relation, InvalidValue> {
        match s.trim() {
            "spouse" => Ok(Relation::Spouse),
            "parent" => Ok(Relation::Parent),
            "child" => Ok(Relation::Child),
            other => Err(InvalidValue::new(
                "relation",
                "unknown",
                format!("关系“{other}”无效：应为配偶、父母或子女"),
                format!("relation \"{other}\" is invalid: spouse, parent or child"),
            )),
        }
    }

    pub fn label(self) -> Text {
        match self {
            Relation::Spouse => Text::new("配偶", "spouse"),
            Relation::Parent => Text::new("父母", "parent"),
            Relation::Child => Text::new("子女", "child"),
        }
    }
}

/// An authorisation, as stored, with both persons' names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FamilyMember {
    pub id: i64,
    pub holder_id: i64,
    pub holder_name: String,
    pub member_id: i64,
    pub member_name: String,
    /// The member's ID number, masked.
    pub member_resident_id: String,
    pub relation: Relation,
    pub granted_at: String,
    pub revoked_at: Option<String>,
}

fn refuse(field: &'static str, code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> StoreError {
    StoreError::Invalid(InvalidValue::new(field, code, zh, en))
}

/// Whether `relation` fits the two birth dates: a parent at least 15 years older than the
/// holder, a child at least 15 years younger, a spouse of marriageable age (20).
fn plausible(relation: Relation, holder: &ResidentId, member: &ResidentId, today: chrono::NaiveDate) -> bool {
    let (h, m) = (holder.birth_date().year(), member.birth_date().year());
    match relation {
        Relation::Parent => h - m >= 15,
        Relation::Child => m - h >= 15,
        Relation::Spouse => {
            let year = today.year();
            year - m >= 20 && year - h >= 20
        }
    }
}

const COLS: &str = "f.id, f.holder_id, h.name, f.member_id, m.name, m.resident_id, f.relation, f.granted_at, \
     f.revoked_at FROM family_authorisations f JOIN persons h ON h.id = f.holder_id \
     JOIN persons m ON m.id = f.member_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<FamilyMember, StoreError> {
    let relation: String = r.try_get(6)?;
    let rid: String = r.try_get(5)?;
    Ok(FamilyMember {
        id: r.try_get(0)?,
        holder_id: r.try_get(1)?,
        holder_name: r.try_get(2)?,
        member_id: r.try_get(3)?,
        member_name: r.try_get(4)?,
        member_resident_id: rid.parse::<ResidentId>().map(|r| r.masked()).unwrap_or_default(),
        relation: Relation::parse(&relation).map_err(|_| corrupt("family_authorisations.relation", &relation))?,
        granted_at: r.try_get(7)?,
        revoked_at: r.try_get(8)?,
    })
}

impl Store {
    /// The holder `holder_id` lets the person with `member` and `name` use the account as
    /// `relation`. Refused, with why, for a holder without an employee's account, a member
    /// not found under that ID number and name, a relation the birth dates rule out, the
    /// holder themself, or a member already authorised.
    pub async fn authorise_family(
        &self,
        w: &mut WriteTx,
        holder_id: i64,
        member: &ResidentId,
        name: &str,
        relation: Relation,
        today: chrono::NaiveDate,
    ) -> Result<FamilyMember, StoreError> {
        let holder = fetch_person(&mut *w.tx, holder_id).await?;
        if holder.scheme != Scheme::Employee {
            return Err(refuse(
                "holder",
                "no_account",
                "只有职工医保参保人有个人账户，可授权家庭成员共济使用",
                "only an insured employee has an individual account to share with the family",
            ));
        }
        if &holder.resident_id == member {
            return Err(refuse("member_id", "self", "不能授权自己", "a holder cannot authorise themself"));
        }
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM persons WHERE resident_id = $1 AND name = $2")
            .bind(member.as_str().to_string())
            .bind(name.trim().to_string())
            .fetch_optional(&mut *w.tx)
            .await?;
        let Some(member_id) = found else {
            return Err(refuse(
                "member_id",
                "not_found",
                "没有这个身份证号和姓名的参保人：家庭成员须在本系统参保，请核对",
                "no insured person has that ID number and name: the family member must be insured; check both",
            ));
        };
        let member_region: i64 = sqlx::query_scalar("SELECT insured_region FROM persons WHERE id = $1")
            .bind(member_id)
            .fetch_one(&mut *w.tx)
            .await?;
        if crate::db::query::region_from(member_region)?.prefecture() != holder.insured_region.prefecture() {
            return Err(refuse(
                "member_id",
                "other_region",
                "门诊共济限本统筹区内参保的家庭成员：对方在其他统筹区参保",
                "family mutual aid is within one pooling region: that person is insured in another",
            ));
        }
        if !plausible(relation, &holder.resident_id, member, today) {
            return Err(refuse(
                "relation",
                "implausible",
                format!("按身份证号的出生日期，对方不可能是您的{}", relation.label().zh),
                format!("by the birth dates on the ID numbers, that person cannot be your {}", relation.label().en),
            ));
        }
        let live: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM family_authorisations WHERE holder_id = $1 AND member_id = $2 AND revoked_at IS NULL",
        )
        .bind(holder_id)
        .bind(member_id)
        .fetch_optional(&mut *w.tx)
        .await?;
        if live.is_some() {
            return Err(refuse(
                "member_id",
                "authorised",
                "已授权该家庭成员",
                "that family member is authorised already",
            ));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO family_authorisations (holder_id, member_id, relation, granted_at, granted_by) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(holder_id)
        .bind(member_id)
        .bind(relation.code())
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .fetch_one(&mut *w.tx)
        .await?;
        let after = family_in(&mut w.tx, id).await?;
        w.record::<(), _>("family.authorise", "family_authorisation", &id.to_string(), None, Some(&after)).await?;
        Ok(after)
    }

    /// The holder revokes an authorisation: from now on the member cannot use the account.
    pub async fn revoke_family(&self, w: &mut WriteTx, holder_id: i64, id: i64) -> Result<FamilyMember, StoreError> {
        let before = family_in(&mut w.tx, id).await?;
        if before.holder_id != holder_id {
            return Err(StoreError::NotFound("family_authorisation"));
        }
        if before.revoked_at.is_some() {
            return Err(refuse("family", "revoked", "该授权已撤销", "the authorisation is already revoked"));
        }
        sqlx::query("UPDATE family_authorisations SET revoked_at = $1, revoked_by = $2 WHERE id = $3")
            .bind(w.at().to_string())
            .bind(w.actor().label.clone())
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let after = family_in(&mut w.tx, id).await?;
        w.record("family.revoke", "family_authorisation", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// The members a holder authorised (revoked ones too), newest first.
    pub async fn family_of(&self, holder_id: i64) -> Result<Vec<FamilyMember>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLS} WHERE f.holder_id = $1 ORDER BY f.id DESC"))
            .bind(holder_id)
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The accounts `member_id` may use now: the authorisations in force naming them.
    pub async fn family_accounts_for(&self, member_id: i64) -> Result<Vec<FamilyMember>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLS} WHERE f.member_id = $1 AND f.revoked_at IS NULL ORDER BY f.id"))
            .bind(member_id)
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }
}

async fn family_in(conn: &mut crate::db::Conn, id: i64) -> Result<FamilyMember, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLS} WHERE f.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("family_authorisation"))?;
    from_row(&row)
}
