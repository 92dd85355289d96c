//! Visits (就诊) admitted by designated institutions through the platform interface.
//! An admission is checked against the person's cover at the institution on the day; only
//! the admitting institution reaches its visits.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::adjudicate::MedType;
use yibao_core::cover::CoverKind;
use yibao_core::registry::Scheme;
use yibao_core::InvalidValue;

use crate::db::query::fetch_one_by_id;
use crate::registry::{Institution, Person};
use crate::{Store, StoreError, WriteTx};

/// One diagnosis as the institution sent it (`diseinfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub diag_code: String,
    #[serde(default)]
    pub diag_name: String,
    /// Whether it is the main diagnosis (`maindiag_flag` 1).
    #[serde(default)]
    pub main: bool,
}

/// What an admission (2401) asks for.
#[derive(Debug, Clone)]
pub struct Admission {
    pub insutype: Scheme,
    pub med_type: MedType,
    pub begntime: NaiveDateTime,
    /// 住院/门诊号, unique among the institution's open visits.
    pub ipt_otp_no: String,
    pub diagnoses: Vec<Diagnosis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitStatus {
    Admitted,
    Discharged,
    Settled,
    Cancelled,
}

impl VisitStatus {
    pub fn code(self) -> &'static str {
        match self {
            VisitStatus::Admitted => "admitted",
            VisitStatus::Discharged => "discharged",
            VisitStatus::Settled => "settled",
            VisitStatus::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> yibao_core::Text {
        match self {
            VisitStatus::Admitted => yibao_core::Text::new("在院", "admitted"),
            VisitStatus::Discharged => yibao_core::Text::new("已出院待结算", "discharged, not settled"),
            VisitStatus::Settled => yibao_core::Text::new("已结算", "settled"),
            VisitStatus::Cancelled => yibao_core::Text::new("已撤销", "cancelled"),
        }
    }

    fn parse(s: &str) -> Result<VisitStatus, StoreError> {
        [VisitStatus::Admitted, VisitStatus::Discharged, VisitStatus::Settled, VisitStatus::Cancelled]
            .into_iter()
            .find(|v| v.code() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("visit status {s:?}")))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Visit {
    pub id: i64,
    /// 就诊 ID, given at admission.
    pub mdtrt_id: String,
    pub institution_id: i64,
    pub person_id: i64,
    pub insutype: String,
    pub med_type: String,
    pub begntime: String,
    pub ipt_otp_no: String,
    pub diagnoses: Vec<Diagnosis>,
    /// The cover found at admission (`local_designated`, `filed`).
    pub cover_code: String,
    /// The off-site filing the visit is made under, if any.
    pub filing_id: Option<i64>,
    pub status: VisitStatus,
    pub version: i64,
    /// 出院时间 (2402), and how the person left (`dscg_way`).
    pub endtime: Option<String>,
    pub dscg_way: Option<String>,
}

const VISIT_COLS: &str = "id, mdtrt_id, institution_id, person_id, insutype, med_type, begntime, ipt_otp_no, \
    diagnoses, cover_code, filing_id, status, version, endtime, dscg_way";

fn visit_from_row(r: &AnyRow) -> Result<Visit, StoreError> {
    let diagnoses: String = r.try_get(8)?;
    Ok(Visit {
        id: r.try_get(0)?,
        mdtrt_id: r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
        institution_id: r.try_get(2)?,
        person_id: r.try_get(3)?,
        insutype: r.try_get(4)?,
        med_type: r.try_get(5)?,
        begntime: r.try_get(6)?,
        ipt_otp_no: r.try_get(7)?,
        diagnoses: serde_json::from_str(&diagnoses).map_err(|e| StoreError::Corrupt(format!("diagnoses: {e}")))?,
        cover_code: r.try_get(9)?,
        filing_id: r.try_get(10)?,
        status: VisitStatus::parse(&r.try_get::<String, _>(11)?)?,
        version: r.try_get(12)?,
        endtime: r.try_get(13)?,
        dscg_way: r.try_get(14)?,
    })
}

fn ipt_open(ipt_otp_no: &str) -> StoreError {
    refuse(
        "ipt_open",
        format!("住院/门诊号 {ipt_otp_no} 已有未结束的就诊"),
        format!("hospital number {ipt_otp_no} already has an open visit"),
    )
}

pub(crate) fn refuse(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> StoreError {
    StoreError::Invalid(InvalidValue::new("visit", code, zh, en))
}

/// The cover a visit is admitted under: its code and the off-site filing it rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectCover {
    pub code: &'static str,
    pub filing_id: Option<i64>,
}

impl Store {
    /// 2401: admits `person` at `institution` under `cover` (from [`Store::direct_cover`] for
    /// the admission day, decided before the write: it reads only committed records). Refused
    /// when the scheme is not the person's or the hospital number is already open.
    pub async fn admit_visit(
        &self,
        w: &mut WriteTx,
        institution: &Institution,
        person: &Person,
        admission: &Admission,
        cover: &DirectCover,
    ) -> Result<Visit, StoreError> {
        if admission.insutype != person.scheme {
            return Err(refuse(
                "insutype",
                format!("险种 {} 与参保人的险种 {} 不符", admission.insutype.code(), person.scheme.code()),
                format!("insutype {} is not the person's scheme {}", admission.insutype.code(), person.scheme.code()),
            ));
        }
        if admission.ipt_otp_no.trim().is_empty() {
            return Err(refuse("ipt_otp_no", "请填写住院/门诊号", "give the hospital number (ipt_otp_no)"));
        }
        let diagnoses = serde_json::to_string(&admission.diagnoses).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO visits (institution_id, person_id, insutype, med_type, begntime, ipt_otp_no, diagnoses, \
             cover_code, filing_id, status, admitted_by, admitted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'admitted', $10, $11) RETURNING id",
        )
        .bind(institution.id)
        .bind(person.id)
        .bind(admission.insutype.code())
        .bind(med_type_code(admission.med_type))
        .bind(admission.begntime.format("%Y-%m-%d %H:%M:%S").to_string())
        .bind(admission.ipt_otp_no.trim().to_string())
        .bind(diagnoses)
        .bind(cover.code)
        .bind(cover.filing_id)
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .fetch_one(&mut *w.tx)
        .await
        .map_err(|e| match StoreError::on_unique(e, "ipt_otp_no") {
            StoreError::Duplicate { .. } => ipt_open(&admission.ipt_otp_no),
            other => other,
        })?;
        // The national shape: the insured region's code, then the visit's number.
        let mdtrt_id = format!("{}{:012}", person.insured_region, id);
        sqlx::query("UPDATE visits SET mdtrt_id = $1 WHERE id = $2")
            .bind(mdtrt_id)
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let visit = self.visit_in(w, id).await?;
        w.record::<(), _>("visit.admit", "visit", &id.to_string(), None, Some(&visit)).await?;
        Ok(visit)
    }

    /// 2403: changes an open admission's start, hospital number or diagnoses. A new start
    /// day is checked against the cover again.
    pub async fn change_admission(
        &self,
        w: &mut WriteTx,
        institution: &Institution,
        person: &Person,
        mdtrt_id: &str,
        change: &Admission,
    ) -> Result<Visit, StoreError> {
        let before = self.visit_of(w, institution.id, mdtrt_id).await?;
        if before.status != VisitStatus::Admitted || before.person_id != person.id {
            return Err(refuse(
                "not_admitted",
                format!("就诊 {mdtrt_id} 不是该参保人在院中的就诊，不能变更"),
                format!("visit {mdtrt_id} is not this person's open admission; it cannot be changed"),
            ));
        }
        let begntime = change.begntime.format("%Y-%m-%d %H:%M:%S").to_string();
        let (cover_code, filing_id) = if begntime.get(..10) == before.begntime.get(..10) {
            (before.cover_code.clone(), before.filing_id)
        } else {
            let cover = self.direct_cover(person, institution, change.begntime.date()).await?;
            (cover.code.to_string(), cover.filing_id)
        };
        let diagnoses = serde_json::to_string(&change.diagnoses).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let changed = sqlx::query(
            "UPDATE visits SET begntime = $1, ipt_otp_no = $2, diagnoses = $3, cover_code = $4, filing_id = $5, \
             version = version + 1 WHERE id = $6 AND version = $7",
        )
        .bind(begntime)
        .bind(change.ipt_otp_no.trim().to_string())
        .bind(diagnoses)
        .bind(cover_code)
        .bind(filing_id)
        .bind(before.id)
        .bind(before.version)
        .execute(&mut *w.tx)
        .await
        .map_err(|e| match StoreError::on_unique(e, "ipt_otp_no") {
            StoreError::Duplicate { .. } => ipt_open(&change.ipt_otp_no),
            other => other,
        })?
        .rows_affected();
        if changed != 1 {
            return Err(StoreError::Stale("visit"));
        }
        let after = self.visit_in(w, before.id).await?;
        w.record("visit.change_admission", "visit", &before.id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// The cover at `institution` on `day` when it allows direct settlement (with the
    /// filing it rests on), or the cover's own refusal.
    /// The person's cover at the institution on `day`, if it allows direct settlement;
    /// refused, with the reason and what to do instead, when it does not (not insured, card
    /// lost or damaged without a no-card certificate, off-site without a filing).
    pub async fn direct_cover(
        &self,
        person: &Person,
        institution: &Institution,
        day: chrono::NaiveDate,
    ) -> Result<DirectCover, StoreError> {
        let report = self.cover_report(person, day, Some(&institution.code)).await?;
        let cover = report.cover.ok_or(StoreError::NotFound("cover"))?;
        if !cover.direct_settlement {
            return Err(StoreError::Invalid(InvalidValue { field: "visit", code: cover.code, message: cover.reason }));
        }
        let filing_id = match cover.kind {
            CoverKind::Filed { filing_id, .. } => Some(filing_id),
            _ => None,
        };
        Ok(DirectCover { code: cover.code, filing_id })
    }

    /// 2404: undoes an admission with nothing charged to it yet.
    pub async fn undo_admission(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        mdtrt_id: &str,
    ) -> Result<Visit, StoreError> {
        let before = self.visit_of(w, institution_id, mdtrt_id).await?;
        if before.status != VisitStatus::Admitted {
            return Err(refuse(
                "not_admitted",
                format!("就诊 {mdtrt_id} 状态为 {}，不能撤销入院", before.status.code()),
                format!("visit {mdtrt_id} is {}; its admission cannot be undone", before.status.code()),
            ));
        }
        let after =
            self.save_visit_state(w, &before, &Visit { status: VisitStatus::Cancelled, ..before.clone() }).await?;
        w.record("visit.undo_admission", "visit", &before.id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// Moves a visit from `before` (as read, at its version) to `after`'s status, discharge
    /// and diagnoses; refused as stale if it changed in between.
    pub(crate) async fn save_visit_state(
        &self,
        w: &mut WriteTx,
        before: &Visit,
        after: &Visit,
    ) -> Result<Visit, StoreError> {
        let diagnoses = serde_json::to_string(&after.diagnoses).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let changed = sqlx::query(
            "UPDATE visits SET status = $1, endtime = $2, dscg_way = $3, diagnoses = $4, version = version + 1 \
             WHERE id = $5 AND version = $6",
        )
        .bind(after.status.code())
        .bind(after.endtime.clone())
        .bind(after.dscg_way.clone())
        .bind(diagnoses)
        .bind(before.id)
        .bind(before.version)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if changed != 1 {
            return Err(StoreError::Stale("visit"));
        }
        Ok(Visit { version: before.version + 1, ..after.clone() })
    }

    /// The institution's own visit by 就诊 ID; another institution's is "not found".
    pub async fn visit_of(&self, w: &mut WriteTx, institution_id: i64, mdtrt_id: &str) -> Result<Visit, StoreError> {
        visit_by_mdtrt(&mut w.tx, institution_id, mdtrt_id).await
    }

    pub(super) async fn visit_in(&self, w: &mut WriteTx, id: i64) -> Result<Visit, StoreError> {
        let sql = format!("SELECT {VISIT_COLS} FROM visits WHERE id = $1");
        fetch_one_by_id(&mut *w.tx, &sql, id, "visit", visit_from_row).await
    }
}

/// The institution's own visit by 就诊 ID; another institution's is "not found".
pub(crate) async fn visit_by_mdtrt(
    conn: &mut crate::db::Conn,
    institution_id: i64,
    mdtrt_id: &str,
) -> Result<Visit, StoreError> {
    let row = sqlx::query(&format!("SELECT {VISIT_COLS} FROM visits WHERE mdtrt_id = $1 AND institution_id = $2"))
        .bind(mdtrt_id.to_string())
        .bind(institution_id)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound("visit"))?;
    visit_from_row(&row)
}

fn med_type_code(m: MedType) -> &'static str {
    match m {
        MedType::GeneralOutpatient => "11",
        MedType::SpecialOutpatient => "14",
        MedType::Inpatient => "21",
    }
}
