//! The quality guarantee deposit after the annual assessment (年度考核): the agency records
//! each institution's score for a year that is over; the score releases the share of that
//! year's deposit the region's bands give (`ClearingRules::release_share`). The next clearing
//! the institution applies for pays what is released with what it owes, and forfeits the
//! rest to the fund, under the same review and four-eyes approval; a clearing of the year
//! approved after the assessment has its deposit released by the clearing after it.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::books::{allocate, Fund};
use yibao_core::clearing::Release;
use yibao_core::ratio::Ratio;
use yibao_core::{Fen, Scope};

use super::{refuse, Clearing};
use crate::db::query::{corrupt, Arg, Sql};
use crate::db::Conn;
use crate::{Store, StoreError, WriteTx};

/// An institution's assessment for a year.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    pub id: i64,
    pub institution_id: i64,
    pub institution_code: String,
    pub institution_name: String,
    pub year: i32,
    pub score: u32,
    /// The share of the year's deposit the score releases.
    pub share: Ratio,
    pub note: String,
    pub assessed_by: String,
    pub assessed_at: String,
}

const COLS: &str =
    "a.id, a.institution_id, i.code, i.name, a.year, a.score, a.share, a.note, a.assessed_by, a.assessed_at";
const FROM: &str = "institution_assessments a JOIN institutions i ON i.id = a.institution_id";

fn from_row(r: &AnyRow) -> Result<Assessment, StoreError> {
    let share: String = r.try_get(6)?;
    Ok(Assessment {
        id: r.try_get(0)?,
        institution_id: r.try_get(1)?,
        institution_code: r.try_get(2)?,
        institution_name: r.try_get(3)?,
        year: i32::try_from(r.try_get::<i64, _>(4)?).map_err(|e| corrupt("institution_assessments.year", e))?,
        score: u32::try_from(r.try_get::<i64, _>(5)?).map_err(|e| corrupt("institution_assessments.score", e))?,
        share: share.parse().map_err(|e| corrupt("institution_assessments.share", e))?,
        note: r.try_get(7)?,
        assessed_by: r.try_get(8)?,
        assessed_at: r.try_get(9)?,
    })
}

/// The deposits the institution's assessments release that no clearing paid yet, a year at
/// a time: what that year's approved clearings held.
const RELEASABLE: &str = "SELECT a.year, a.score, a.share, CAST(SUM(c.deposit) AS BIGINT), COUNT(*) \
     FROM institution_assessments a JOIN clearings c ON c.institution_id = a.institution_id \
     AND substr(c.period_start, 1, 4) = CAST(a.year AS TEXT) \
     WHERE a.institution_id = $1 AND c.state = 'approved' AND c.deposit > 0 AND c.deposit_released_in IS NULL \
     GROUP BY a.year, a.score, a.share ORDER BY a.year";

/// What applying for a clearing now would release, with the number of clearings each
/// release empties.
async fn releasable(conn: &mut Conn, institution_id: i64) -> Result<Vec<(Release, i64)>, StoreError> {
    let rows = sqlx::query(RELEASABLE).bind(institution_id).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            let year =
                i32::try_from(r.try_get::<i64, _>(0)?).map_err(|e| corrupt("institution_assessments.year", e))?;
            let score =
                u32::try_from(r.try_get::<i64, _>(1)?).map_err(|e| corrupt("institution_assessments.score", e))?;
            let share: Ratio =
                r.try_get::<String, _>(2)?.parse().map_err(|e| corrupt("institution_assessments.share", e))?;
            Ok((Release::new(year, score, share, Fen::from_fen(r.try_get(3)?)), r.try_get(4)?))
        })
        .collect()
}

pub(super) async fn releases(conn: &mut Conn, institution_id: i64) -> Result<Vec<Release>, StoreError> {
    Ok(releasable(conn, institution_id).await?.into_iter().map(|(r, _)| r).collect())
}

/// Marks the clearings whose deposits `releases` pays as released in clearing `id`.
pub(super) async fn mark_released(
    w: &mut WriteTx,
    institution_id: i64,
    releases: &[Release],
    id: i64,
) -> Result<(), StoreError> {
    let now = releasable(&mut w.tx, institution_id).await?;
    for r in releases {
        let count = now.iter().find(|(n, _)| n.year == r.year).map_or(0, |(_, c)| *c);
        let done = sqlx::query(
            "UPDATE clearings SET deposit_released_in = $1 WHERE institution_id = $2 AND state = 'approved' \
             AND deposit > 0 AND deposit_released_in IS NULL AND substr(period_start, 1, 4) = $3",
        )
        .bind(id)
        .bind(institution_id)
        .bind(r.year.to_string())
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() != count as u64 {
            return Err(StoreError::Stale("clearing"));
        }
    }
    Ok(())
}

/// Each fund's part of what approved clearing `c` releases and forfeits: a year's release
/// is shared across funds in proportion to what each held, to the fen.
pub(super) async fn release_parts(w: &mut WriteTx, c: &Clearing) -> Result<Vec<(Fund, Fen, Fen)>, StoreError> {
    let mut out = Vec::new();
    for r in &c.statement.releases {
        let rows = sqlx::query(
            "SELECT f.fund, CAST(SUM(f.deposit) AS BIGINT) FROM clearing_funds f \
             JOIN clearings cl ON cl.id = f.clearing_id WHERE cl.deposit_released_in = $1 \
             AND substr(cl.period_start, 1, 4) = $2 GROUP BY f.fund ORDER BY f.fund",
        )
        .bind(c.id)
        .bind(r.year.to_string())
        .fetch_all(&mut *w.tx)
        .await?;
        let mut held = Vec::new();
        for row in &rows {
            let fund = Fund::parse(&row.try_get::<String, _>(0)?).map_err(|e| corrupt("clearing_funds.fund", e))?;
            held.push((fund, Fen::from_fen(row.try_get(1)?)));
        }
        if held.iter().map(|(_, h)| *h).sum::<Fen>() != r.held {
            return Err(StoreError::Stale("clearing"));
        }
        let weights: Vec<Fen> = held.iter().map(|(_, h)| *h).collect();
        for ((fund, h), released) in held.into_iter().zip(allocate(r.released, &weights)) {
            out.push((fund, released, h.saturating_sub(released)));
        }
    }
    Ok(out)
}

impl Store {
    /// Records the institution's assessment for `year`, over by `today`: its score (out of
    /// 100) and what it releases by the region's bands in force today. Once per year.
    pub async fn assess_institution(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        year: i32,
        score: u32,
        note: &str,
        today: NaiveDate,
    ) -> Result<Assessment, StoreError> {
        let inst = self.institution(institution_id).await?;
        if year >= today.year() {
            return Err(refuse(
                "year_open",
                format!("{year} 年度尚未结束，年度考核在年度结束后进行"),
                format!("the year {year} is not over: it is assessed once it is"),
            ));
        }
        if score > 100 {
            return Err(refuse("score", "考核得分应在 0–100 之间", "the score is 0 to 100"));
        }
        let done: Option<i64> =
            sqlx::query_scalar("SELECT score FROM institution_assessments WHERE institution_id = $1 AND year = $2")
                .bind(institution_id)
                .bind(i64::from(year))
                .fetch_optional(&mut *w.tx)
                .await?;
        if let Some(score) = done {
            return Err(refuse(
                "assessed",
                format!("{} {year} 年度已考核（{score} 分）", inst.name),
                format!("{} is assessed for {year} already ({score} points)", inst.name),
            ));
        }
        let share = self.clearing_rules(inst.region, today).await?.release_share(score);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO institution_assessments (institution_id, year, score, share, note, assessed_by, assessed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(institution_id)
        .bind(i64::from(year))
        .bind(i64::from(score))
        .bind(share.to_decimal_text())
        .bind(note.trim().to_string())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .fetch_one(&mut *w.tx)
        .await?;
        let row =
            sqlx::query(&format!("SELECT {COLS} FROM {FROM} WHERE a.id = $1")).bind(id).fetch_one(&mut *w.tx).await?;
        let out = from_row(&row)?;
        w.record("institution.assess", "institution", &institution_id.to_string(), None::<&()>, Some(&out)).await?;
        Ok(out)
    }

    /// An institution's assessments, newest year first.
    pub async fn assessments_of(&self, institution_id: i64) -> Result<Vec<Assessment>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM {FROM} WHERE a.institution_id = $1 ORDER BY a.year DESC"))
            .bind(institution_id)
            .fetch_all(&mut self.read_conn().await?)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The assessments of institutions in `scope`, newest first, at most `limit`.
    pub async fn assessments_in(&self, scope: &Scope, limit: i64) -> Result<Vec<Assessment>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {COLS} FROM {FROM} WHERE 1 = 1"));
        sql.scope_filter("i.region", scope);
        let l = sql.arg(Arg::I(limit));
        sql.text.push_str(&format!(" ORDER BY a.id DESC LIMIT {l}"));
        sql.fetch_all(&self.db).await?.iter().map(from_row).collect()
    }
}
