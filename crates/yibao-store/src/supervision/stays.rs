//! The person's other stays as the rules see them: their claims and settled direct
//! settlements (without lines), read from those tables directly so that supervision depends
//! on neither domain.

use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::supervise::Visit;

use super::day_of;
use crate::db::query::corrupt;
use crate::StoreError;

/// The person's other visits (stays and outpatient visits; the rules on stays look at stays
/// only): claims other than `except_claim` (a claim's number), settlements
/// of visits other than `except_visit` (a `mdtrt_id`), ending on or after `since`.
pub(super) async fn other_stays(
    conn: &mut crate::db::Conn,
    person_id: i64,
    except_claim: &str,
    except_visit: &str,
    since: NaiveDate,
) -> Result<Vec<Visit>, StoreError> {
    let mut stays = claim_stays(&mut *conn, person_id, except_claim, since).await?;
    stays.extend(settled_stays(&mut *conn, person_id, except_visit, since).await?);
    Ok(stays)
}

/// The person's claims other than `except` (a claim's number), not withdrawn or rejected.
async fn claim_stays(
    conn: &mut crate::db::Conn,
    person_id: i64,
    except: &str,
    since: NaiveDate,
) -> Result<Vec<Visit>, StoreError> {
    let claims = sqlx::query(
        "SELECT c.number, c.institution_code, c.med_type, c.care_start, c.care_end, c.diagnoses, p.sex, \
         p.birth_date FROM claims c JOIN persons p ON p.id = c.person_id WHERE c.person_id = $1 \
         AND c.state NOT IN ('withdrawn', 'rejected') AND c.number <> $2 AND c.care_end >= $3",
    )
    .bind(person_id)
    .bind(except.to_string())
    .bind(since.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut stays = Vec::new();
    for r in &claims {
        let diagnoses: Vec<String> =
            serde_json::from_str(&r.try_get::<String, _>(5)?).map_err(|e| corrupt("claims.diagnoses", e))?;
        stays.push(stay_from_row(r, person_id, diagnoses.into_iter().next().unwrap_or_default())?);
    }
    Ok(stays)
}

/// The person's settled direct settlements other than of visit `except` (a `mdtrt_id`).
async fn settled_stays(
    conn: &mut crate::db::Conn,
    person_id: i64,
    except: &str,
    since: NaiveDate,
) -> Result<Vec<Visit>, StoreError> {
    let settled = sqlx::query(
        "SELECT s.setl_id, i.code, s.med_type, v.begntime, s.setl_date, v.diagnoses, p.sex, p.birth_date \
         FROM settlements s JOIN visits v ON v.id = s.visit_id JOIN institutions i ON i.id = s.institution_id \
         JOIN persons p ON p.id = s.person_id WHERE s.person_id = $1 AND s.status = 'settled' \
         AND COALESCE(v.mdtrt_id, '') <> $2 AND s.setl_date >= $3",
    )
    .bind(person_id)
    .bind(except.to_string())
    .bind(since.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut stays = Vec::new();
    for r in &settled {
        let diagnoses: Vec<serde_json::Value> =
            serde_json::from_str(&r.try_get::<String, _>(5)?).map_err(|e| corrupt("visits.diagnoses", e))?;
        let main = diagnoses
            .iter()
            .find(|d| d["main"].as_bool() == Some(true))
            .or(diagnoses.first())
            .and_then(|d| d["diag_code"].as_str())
            .unwrap_or_default()
            .to_string();
        stays.push(stay_from_row(r, person_id, main)?);
    }
    Ok(stays)
}

/// A stay from a row of (number, institution code, med_type, first day, last day, diagnoses,
/// sex, birth date), without lines.
fn stay_from_row(r: &AnyRow, person_id: i64, main_diagnosis: String) -> Result<Visit, StoreError> {
    Ok(Visit {
        id: r.try_get::<Option<String>, _>(0)?.unwrap_or_default(),
        person_id,
        sex: sex_of(&r.try_get::<String, _>(6)?),
        birth_date: day_of(&r.try_get::<String, _>(7)?)?,
        institution: r.try_get(1)?,
        inpatient: r.try_get::<String, _>(2)? == "21",
        admitted: day_of(&r.try_get::<String, _>(3)?)?,
        discharged: day_of(&r.try_get::<String, _>(4)?)?,
        main_diagnosis,
        lines: Vec::new(),
    })
}

fn sex_of(code: &str) -> yibao_core::Sex {
    if code == "female" {
        yibao_core::Sex::Female
    } else {
        yibao_core::Sex::Male
    }
}
