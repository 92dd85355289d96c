//! Generated workloads of realistic shape for benchmarks: a catalog of many entries, and
//! claims of 20–300 lines. Deterministic for a seed (a small LCG; no randomness crate).

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{to_fen, Claim, DateText, FeeLine, Filing, MedType};
use crate::catalog::{CatalogEntry, Catalogs, Category, ItemKind, Restriction};
use crate::policy::{Policy, PolicySet};
use crate::ratio::Ratio;
use crate::registry::{HospitalGrade, PersonCategory, Scheme};
use crate::AdminCode;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The demo region's policy documents (the files in `docs/formats/examples/`): employees
/// (310) and residents (390) of 金昌 (620300), 2026.
pub const DEMO_POLICY_DOCUMENTS: [&str; 2] = [
    include_str!("../../../../docs/formats/examples/policy-620300-310-2026.toml"),
    include_str!("../../../../docs/formats/examples/policy-620300-390-2026.toml"),
];

/// The demo policies, parsed.
pub fn demo_policies() -> PolicySet {
    PolicySet::new(DEMO_POLICY_DOCUMENTS.iter().filter_map(|t| Policy::parse(t).ok()).collect())
}

fn code_for(i: usize, kind: ItemKind) -> String {
    match kind {
        ItemKind::Drug => format!("XA{:02}BCD{:06}A0010101{:05}", i % 97, i, i % 99_991),
        ItemKind::Consumable => format!("C{:02}{:017}", i % 89, i),
        _ => format!("{:015}", 1_000_000_000 + i),
    }
}

/// `size` generated catalog entries (deterministic for a seed).
pub fn catalog_entries(size: usize, seed: u64) -> Vec<CatalogEntry> {
    let mut rng = Lcg(seed);
    let begin = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default();
    (0..size)
        .map(|i| {
            let kind = match rng.below(10) {
                0..=5 => ItemKind::Drug,
                6..=8 => ItemKind::Service,
                _ => ItemKind::Consumable,
            };
            let category = match rng.below(10) {
                0..=4 => Category::A,
                5..=8 => Category::B,
                _ => Category::C,
            };
            let selfpay_prop = if category == Category::B {
                Ratio::from_bp(500 * (1 + rng.below(4) as u32)).unwrap_or(Ratio::ZERO)
            } else {
                Ratio::ZERO
            };
            let price_cap = (rng.below(10) == 0).then(|| Decimal::new(100 + rng.below(100_000) as i64, 2));
            let restriction = Restriction {
                diagnoses: if rng.below(30) == 0 { vec!["I2".into(), "C50".into()] } else { Vec::new() },
                grades: if rng.below(40) == 0 {
                    vec![HospitalGrade::Level2, HospitalGrade::Level3]
                } else {
                    Vec::new()
                },
                max_quantity: (rng.below(50) == 0).then(|| Decimal::from(5 + rng.below(20))),
                person: Default::default(),
            };
            CatalogEntry {
                code: code_for(i, kind),
                name: format!("项目{i}"),
                kind,
                category,
                selfpay_prop,
                price_cap,
                begin,
                end: None,
                restriction,
            }
        })
        .collect()
}

/// `size` catalog entries, listed for 金昌 (620300) and 兰州 (620100), and their codes.
pub fn catalog(size: usize, seed: u64) -> (Catalogs, Vec<String>) {
    let mut catalogs = Catalogs::default();
    let entries = catalog_entries(size, seed);
    let codes = entries.iter().map(|e| e.code.clone()).collect();
    let (Ok(jinchang), Ok(lanzhou)) = ("620300".parse::<AdminCode>(), "620100".parse::<AdminCode>()) else {
        return (catalogs, codes);
    };
    for entry in entries {
        catalogs.insert(lanzhou, entry.clone());
        catalogs.insert(jinchang, entry);
    }
    (catalogs, codes)
}

/// `size` generated entries as the catalog CSV a policy administrator imports
/// (`docs/formats/catalog.md`), for `region`.
pub fn catalog_csv(size: usize, region: AdminCode, seed: u64) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(size * 90);
    out.push_str(
        "admdvs,med_list_codg,name,list_type,chrgitm_lv,selfpay_prop,pric_uplmt_amt,begndate,enddate,lmt_dise,lmt_hosp_lv,lmt_cnt\n",
    );
    for e in catalog_entries(size, seed) {
        let grades: Vec<&str> = e.restriction.grades.iter().map(|g| g.code()).collect();
        let _ = writeln!(
            out,
            "{region},{},{},,{},{},{},{},,{},{},{}",
            e.code,
            e.name,
            e.category.code(),
            if e.selfpay_prop == Ratio::ZERO { String::new() } else { e.selfpay_prop.to_decimal_text() },
            e.price_cap.map(|c| c.to_string()).unwrap_or_default(),
            e.begin,
            e.restriction.diagnoses.join(";"),
            grades.join(";"),
            e.restriction.max_quantity.map(|q| q.to_string()).unwrap_or_default(),
        );
    }
    out
}

#[cfg(test)]
mod csv_tests {
    #![allow(clippy::unwrap_used)]

    /// The generated CSV reads back, row for row, as the entries it was written from.
    #[test]
    fn generated_catalog_csv_round_trips() {
        let region = "620300".parse().unwrap();
        let file = crate::catalog::CatalogFile::read(super::catalog_csv(2_000, region, 7).as_bytes()).unwrap();
        assert!(file.rejected.is_empty(), "{:?}", file.rejected.first());
        let read: Vec<_> = file.rows.into_iter().map(|r| r.entry).collect();
        assert_eq!(read, super::catalog_entries(2_000, 7));
    }
}

/// How fee lines pick their items from the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// As in hospitals: a few items (beds, nursing, common tests, infusions) make most
    /// lines. The item of popularity rank k is drawn with weight 1/(k+1) (Zipf, s = 1), the
    /// ranks shuffled over the catalog.
    Skewed,
    /// Every item equally likely: the worst case for the processor's caches.
    Uniform,
}

/// Draws catalog indexes under a [`Mix`], in integer arithmetic.
struct Picker {
    /// Cumulative weights by rank, and the catalog index of each rank.
    cumulative: Vec<u64>,
    index_of_rank: Vec<usize>,
}

impl Picker {
    fn new(mix: Mix, size: usize, rng: &mut Lcg) -> Picker {
        let mut index_of_rank: Vec<usize> = (0..size).collect();
        for i in (1..size).rev() {
            index_of_rank.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut total = 0u64;
        let cumulative = (0..size as u64)
            .map(|k| {
                total += match mix {
                    Mix::Skewed => 1_000_000_000 / (k + 1),
                    Mix::Uniform => 1,
                };
                total
            })
            .collect();
        Picker { cumulative, index_of_rank }
    }

    fn pick(&self, rng: &mut Lcg) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0);
        let u = (rng.next() << 31 | rng.next()) % total.max(1);
        let rank = self.cumulative.partition_point(|c| *c <= u);
        self.index_of_rank.get(rank).copied().unwrap_or(0)
    }
}

/// `n` claims of 20–300 lines over `codes` (about 3% of lines not in the catalog).
pub fn claims(n: usize, codes: &[String], mix: Mix, seed: u64) -> Vec<Claim> {
    let mut rng = Lcg(seed ^ 0x5EED);
    let picker = Picker::new(mix, codes.len(), &mut rng);
    let date = NaiveDate::from_ymd_opt(2026, 6, 15).unwrap_or_default();
    let (Ok(home), Ok(away)) = ("620302".parse::<AdminCode>(), "620102".parse::<AdminCode>()) else {
        return Vec::new();
    };
    (0..n)
        .map(|k| {
            let lines = 20 + rng.below(281) as usize;
            let (insutype, psn_type) = match rng.below(4) {
                0 => (Scheme::Employee, PersonCategory::InService),
                1 => (Scheme::Employee, PersonCategory::Retired),
                2 => (Scheme::Resident, PersonCategory::ResidentAdult),
                _ => (Scheme::Resident, PersonCategory::ResidentElderly),
            };
            let offsite = rng.below(10) == 0;
            let feedetail = (0..lines)
                .map(|i| {
                    let code = if rng.below(33) == 0 {
                        format!("XZ{:08}", rng.below(1_000_000))
                    } else {
                        codes[picker.pick(&mut rng)].clone()
                    };
                    let cnt = Decimal::from(1 + rng.below(10));
                    let pric = Decimal::new(50 + rng.below(200_000) as i64, 2);
                    FeeLine {
                        feedetl_sn: (i + 1).to_string().into(),
                        med_list_codg: code.into(),
                        cnt,
                        pric,
                        det_item_fee_sumamt: to_fen(cnt * pric),
                        fee_ocur_time: DateText(date),
                        reviewer_excluded: false,
                        rescue_admitted: false,
                    }
                })
                .collect();
            Claim {
                mdtrt_id: format!("BENCH{k:08}"),
                insutype,
                psn_type,
                med_type: MedType::Inpatient,
                insuplc_admdvs: home,
                mdtrtarea_admvs: if offsite { away } else { home },
                hosp_lv: HospitalGrade::ALL[rng.below(4) as usize],
                admission_no: 1 + rng.below(3) as u32,
                offsite_filing: offsite.then_some(Filing::Referral),
                receipt_date: DateText(date),
                dise_codg: vec!["I21.9".into()],
                opsp_dise_code: None,
                acct_used_flag: insutype == Scheme::Employee,
                catalog_source: None,
                acct_balance: crate::Fen::from_fen(rng.below(500_000) as i64),
                family_balance: crate::Fen::ZERO,
                feedetail,
            }
        })
        .collect()
}

/// Policies, a catalog of `catalog_size` entries per region, and `n` claims.
pub fn workload(n: usize, catalog_size: usize, mix: Mix, seed: u64) -> (PolicySet, Catalogs, Vec<Claim>) {
    let (catalogs, codes) = catalog(catalog_size, seed);
    let claims = claims(n, &codes, mix, seed);
    (demo_policies(), catalogs, claims)
}
