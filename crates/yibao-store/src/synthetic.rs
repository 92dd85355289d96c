//! Synthetic registry data for benchmarks: many valid-looking persons, loaded in bulk.
//!
//! The loader writes rows directly, without audit entries or record versions: it builds a
//! benchmark fixture, not a registration, and is never reachable from the portal or API.

use chrono::NaiveDate;
use yibao_core::registry::{Enrolment, PersonCategory};
use yibao_core::{AdminCode, ResidentId};

use crate::{Store, StoreError};

/// Gansu's prefectures, each with a few county-level codes: a province's worth of regions.
pub fn synthetic_regions() -> Vec<AdminCode> {
    let mut out = Vec::new();
    for prefecture in 1..=14u32 {
        for county in 1..=5u32 {
            if let Ok(code) = format!("62{prefecture:02}{county:02}").parse() {
                out.push(code);
            }
        }
    }
    out
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "兰",
    "霞", "平", "刚", "英", "国", "玉", "志", "海", "文", "春", "华", "建", "红", "燕", "鹏", "辉", "晨", "琳", "宇",
];

/// The `i`-th synthetic person: region, resident ID and name, all a pure function of `i`.
pub fn synthetic_person(i: u64, regions: &[AdminCode]) -> Result<(AdminCode, ResidentId, String), StoreError> {
    let n = regions.len() as u64;
    let region = regions[(i % n) as usize];
    let sequence = ((i / n) % 999 + 1) as u16;
    let round = i / (n * 999);
    let base = NaiveDate::from_ymd_opt(1940, 1, 1).ok_or_else(|| StoreError::Config("date".into()))?;
    // Distinct rounds get distinct birth dates, so (region, birth, sequence) never repeats.
    let birth = base + chrono::Duration::days(((round * 2_621 + (i % n) * 17) % 29_000) as i64);
    let rid = ResidentId::from_parts(region, birth, sequence)?;
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20;
    let name = format!(
        "{}{}{}",
        SURNAMES[(h % SURNAMES.len() as u64) as usize],
        GIVEN[((h / 31) % GIVEN.len() as u64) as usize],
        GIVEN[((h / 1_301) % GIVEN.len() as u64) as usize]
    );
    Ok((region, rid, name))
}

const BATCH: usize = 400;

impl Store {
    /// Loads persons `0..n` of the synthetic series (resident scheme), calling `progress`
    /// with the number loaded so far after each transaction.
    #[doc(hidden)]
    pub async fn load_synthetic_persons(&self, n: u64, mut progress: impl FnMut(u64)) -> Result<(), StoreError> {
        let regions = synthetic_regions();
        let now = "2026-01-01T00:00:00Z";
        let mut i = 0u64;
        while i < n {
            let mut tx = self.db.pool.begin().await?;
            let tx_end = (i + 50_000).min(n);
            while i < tx_end {
                let end = (i + BATCH as u64).min(tx_end);
                let mut sql = String::from(
                    "INSERT INTO persons (resident_id, name, sex, birth_date, enrolment, scheme, category, \
                     insured_region, pooling_region, hukou_region, status, status_from, version, updated_at) VALUES ",
                );
                let mut rows = Vec::with_capacity(BATCH);
                for (k, j) in (i..end).enumerate() {
                    let (region, rid, name) = synthetic_person(j, &regions)?;
                    let p = k * 6;
                    if k > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!(
                        "(${},${},${},${},'{}','{}','{}',${},${},${},'active','2020-01-01',1,'{now}')",
                        p + 1,
                        p + 2,
                        p + 3,
                        p + 4,
                        Enrolment::Resident.code(),
                        Enrolment::Resident.scheme().code(),
                        PersonCategory::ResidentAdult.code(),
                        p + 5,
                        p + 6,
                        p + 5,
                    ));
                    rows.push((region, rid, name));
                }
                let mut q = sqlx::query(&sql);
                for (region, rid, name) in rows {
                    q = q
                        .bind(rid.as_str().to_string())
                        .bind(name)
                        .bind(rid.sex().code())
                        .bind(rid.birth_date().format("%Y-%m-%d").to_string())
                        .bind(i64::from(region.value()))
                        .bind(i64::from(region.prefecture().value()));
                }
                q.execute(&mut *tx).await?;
                i = end;
            }
            tx.commit().await?;
            progress(i);
        }
        if self.backend() == crate::Backend::Postgres {
            sqlx::query("ANALYZE persons").execute(&self.db.pool).await?;
        } else {
            sqlx::query("ANALYZE").execute(&self.db.pool).await?;
        }
        Ok(())
    }
}

impl Store {
    /// Makes every synthetic person an employee in service whose unit paid `month` on a
    /// base between the demo rules' floor and about 1.5 times it, for the crediting benchmark.
    #[doc(hidden)]
    pub async fn pay_synthetic_month(
        &self,
        month: yibao_core::contribution::months::YearMonth,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("UPDATE persons SET enrolment = $1, scheme = $2, category = $3")
            .bind(Enrolment::UnitEmployee.code())
            .bind(Enrolment::UnitEmployee.scheme().code())
            .bind(PersonCategory::InService.code())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO contribution_months (person_id, month, kind, base, amount, paid_on, source) \
             SELECT id, $1, 'employee', 411000 + (id % 2000) * 100, 0, $2, 'bench' FROM persons",
        )
        .bind(month.to_string())
        .bind(month.first_day().to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_people_are_valid_and_distinct() {
        let regions = synthetic_regions();
        assert_eq!(regions.len(), 70);
        let mut seen = std::collections::HashSet::new();
        for i in (0..300_000).step_by(7) {
            let (region, rid, name) = synthetic_person(i, &regions).unwrap();
            assert_eq!(rid.region(), region);
            assert!(name.chars().count() == 3, "{name}");
            assert!(seen.insert(rid.as_str().to_string()), "duplicate at {i}");
        }
    }
}
