//! The person's other stays as the rules see them: their claims and settled direct
//! settlements, with their invoices where a rule compares them and only the lines of the items
//! a rule counts across visits, read from those tables directly so that supervision depends on
//! neither domain.

use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::supervise::{Invoice, RuleBase, Visit, VisitLine};

use super::day_of;
use crate::db::query::corrupt;
use crate::StoreError;

/// The person's other visits (stays and outpatient visits; the rules on stays look at stays
/// only): claims other than `except_claim` (a claim's number), settlements
/// of visits other than `except_visit` (a `mdtrt_id`), ending on or after `since`; with what
/// `rules` compare across visits.
pub(super) async fn other_stays(
    conn: &mut crate::db::Conn,
    person_id: i64,
    except_claim: &str,
    except_visit: &str,
    since: NaiveDate,
    rules: &RuleBase,
) -> Result<Vec<Visit>, StoreError> {
    let mut stays = claim_stays(&mut *conn, person_id, except_claim, since).await?;
    let items = rules.items_across_visits();
    if rules.compares_invoices() {
        for (number, invoice) in claim_invoices(&mut *conn, person_id, except_claim, since).await? {
            stays.iter_mut().filter(|s| s.id == number).for_each(|s| s.invoices.push(invoice.clone()));
        }
    }
    if !items.is_empty() {
        let lines = item_lines(&mut *conn, CLAIM_LINES, person_id, except_claim, since, &items).await?;
        attach(&mut stays, lines);
    }
    let mut settled = settled_stays(&mut *conn, person_id, except_visit, since).await?;
    for s in &mut settled {
        s.invoices = vec![Invoice { institution: s.institution.clone(), number: s.id.clone() }];
    }
    if !items.is_empty() {
        let lines = item_lines(&mut *conn, SETTLED_LINES, person_id, except_visit, since, &items).await?;
        attach(&mut settled, lines);
    }
    stays.extend(settled);
    Ok(stays)
}

/// Lines (visit number, line number, item, time, quantity) of the items `$4…` of a person
/// (`$1`) outside one visit (`$2`) ending on or after `$3`.
const CLAIM_LINES: &str = "SELECT c.number, CAST(l.seq AS TEXT), l.med_list_codg, l.fee_ocur_time, l.cnt \
     FROM claim_lines l JOIN claims c ON c.id = l.claim_id WHERE c.person_id = $1 AND c.number <> $2 \
     AND c.care_end >= $3 AND c.state NOT IN ('withdrawn', 'rejected') AND l.excluded_reason IS NULL \
     AND l.med_list_codg IN";
const SETTLED_LINES: &str = "SELECT s.setl_id, f.feedetl_sn, f.med_list_codg, f.fee_ocur_time, f.cnt \
     FROM fee_lines f JOIN settlements s ON s.visit_id = f.visit_id JOIN visits v ON v.id = s.visit_id \
     WHERE s.person_id = $1 AND COALESCE(v.mdtrt_id, '') <> $2 AND s.setl_date >= $3 \
     AND s.status = 'settled' AND f.status = 'active' AND f.med_list_codg IN";

async fn item_lines(
    conn: &mut crate::db::Conn,
    query: &str,
    person_id: i64,
    except: &str,
    since: NaiveDate,
    items: &[String],
) -> Result<Vec<(String, VisitLine)>, StoreError> {
    let marks: Vec<String> = (0..items.len()).map(|i| format!("${}", i + 4)).collect();
    let sql = format!("{query} ({})", marks.join(", "));
    let mut q = sqlx::query(&sql).bind(person_id).bind(except.to_string()).bind(since.to_string());
    for item in items {
        q = q.bind(item.clone());
    }
    let mut lines = Vec::new();
    for r in q.fetch_all(&mut *conn).await? {
        let number: Option<String> = r.try_get(0)?;
        let time: String = r.try_get(3)?;
        let cnt: String = r.try_get(4)?;
        lines.push((
            number.unwrap_or_default(),
            VisitLine {
                sn: r.try_get(1)?,
                item: r.try_get(2)?,
                day: day_of(&time)?,
                quantity: cnt.parse().map_err(|e| corrupt("lines.cnt", e))?,
                limits: None,
            },
        ));
    }
    Ok(lines)
}

fn attach(stays: &mut [Visit], lines: Vec<(String, VisitLine)>) {
    for (number, line) in lines {
        if let Some(s) = stays.iter_mut().find(|s| s.id == number) {
            s.lines.push(line);
        }
    }
}

/// The live invoices of the person's claims other than `except`, by claim number.
async fn claim_invoices(
    conn: &mut crate::db::Conn,
    person_id: i64,
    except: &str,
    since: NaiveDate,
) -> Result<Vec<(String, Invoice)>, StoreError> {
    let rows = sqlx::query(
        "SELECT c.number, c.institution_code, ci.invoice_no FROM claim_invoices ci \
         JOIN claims c ON c.id = ci.claim_id WHERE c.person_id = $1 AND c.number <> $2 \
         AND c.care_end >= $3 AND ci.live = 1",
    )
    .bind(person_id)
    .bind(except.to_string())
    .bind(since.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, Invoice { institution: r.try_get(1)?, number: r.try_get(2)? }))).collect()
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
        invoices: Vec::new(),
    })
}

fn sex_of(code: &str) -> yibao_core::Sex {
    if code == "female" {
        yibao_core::Sex::Female
    } else {
        yibao_core::Sex::Male
    }
}
