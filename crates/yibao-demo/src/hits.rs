//! Claims of other insured persons of 金昌 on which the region's rule base finds each kind of
//! hit, accepted and waiting for a reviewer: what an auditor's queue looks like on a real
//! morning. 张三's own claims and settlement carry the repeat-charging and overlap hits; the
//! outlier rule is a re-check over a period (`yibao supervise recheck`, `outliers.rs`), not a
//! visit's hit. One emergency claim had a drug outside the catalog admitted for the rescue.

use std::sync::Arc;

use chrono::NaiveDate;
use yibao_core::sporadic::ClaimCase;
use yibao_core::Sex;
use yibao_store::{BlobStore, ClaimInput, Store, StoreError};

use super::{actor_in, lanzhou_claim, DEMO_SCAN_PNG, INPATIENT_DOCUMENTS, OUTPATIENT_DOCUMENTS};

/// One claim: (case, invoice, ended days ago, lines (code, count, price, amount)).
type Claim<'a> = (ClaimCase, &'a str, i64, &'a [(&'a str, &'a str, &'a str, &'a str)]);

const STAY: &[(&str, &str, &str, &str)] =
    &[("001102000010000", "6", "40.00", "240.00"), ("002201000010000", "1", "25.00", "25.00")];
const CONSULTATION: (&str, &str, &str, &str) = ("001101000010000", "1", "10.00", "10.00");
const MRI: (&str, &str, &str, &str) = ("002302000010000", "1", "600.00", "600.00");

pub(crate) async fn seed_hits(
    store: &Store,
    blobs: &Arc<dyn BlobStore>,
    persons: &[i64],
    today: NaiveDate,
) -> Result<(), StoreError> {
    let mut men = Vec::new();
    let mut adults = Vec::new();
    for &id in persons {
        let p = store.person(id).await?;
        let adult = (today - p.birth_date).num_days() > 20 * 366;
        if adult {
            adults.push(id);
            if p.sex == Sex::Male {
                men.push(id);
            }
        }
    }
    let pick = |list: &[i64], n: usize| {
        list.get(n).copied().ok_or_else(|| StoreError::Config("too few demo persons for the hits".into()))
    };
    let o = ClaimCase::OffsiteOutpatient;
    let i = ClaimCase::OffsiteInpatient;

    // 分解住院 (JG-002): readmitted six days after a discharge with the same diagnosis.
    let split = pick(&adults, 0)?;
    submit(store, blobs, split, (i, "LZ-2026-0601", 28, STAY), today, |_| {}).await?;
    submit(store, blobs, split, (i, "LZ-2026-0622", 16, STAY), today, |_| {}).await?;
    // 限性别 (JG-004, a violation, and the catalog's own limit JG-009): a cervical smear
    // charged for a man.
    let smear = [CONSULTATION, ("311201001", "1", "30.00", "30.00")];
    submit(store, blobs, pick(&men, 0)?, (o, "LZ-2026-0640", 8, &smear), today, |_| {}).await?;
    // 限年龄 (JG-005, JG-009): the children's lozenges for an adult.
    let lozenges = [CONSULTATION, ("XA01ABD075A001010100027", "2", "12.00", "24.00")];
    submit(store, blobs, pick(&adults, 1)?, (o, "LZ-2026-0651", 7, &lozenges), today, |_| {}).await?;
    // 挂床住院 (JG-006): operated on the first day, then six days of bed only.
    let mut bed: Vec<(&str, &str, &str, &str)> =
        vec![("003113000010000", "1", "3000.00", "3000.00"), ("002201000010000", "1", "25.00", "25.00")];
    bed.extend(std::iter::repeat_n(("001102000010000", "1", "40.00", "40.00"), 7));
    submit(store, blobs, pick(&adults, 2)?, (i, "LZ-2026-0663", 10, &bed), today, |c| {
        let start = c.care_start;
        for (n, line) in c.lines.iter_mut().skip(2).enumerate() {
            line.fee_ocur_time = start + chrono::Duration::days(n as i64);
        }
        c.lines[0].fee_ocur_time = start;
        c.lines[1].fee_ocur_time = start;
    })
    .await?;
    // 超量开药 (JG-007): ten days of an antibiotic at the clinic, where seven are allowed.
    let antibiotic = [CONSULTATION, ("XJ01CRA045E001010101947", "30", "12.00", "360.00")];
    submit(store, blobs, pick(&adults, 3)?, (o, "LZ-2026-0675", 6, &antibiotic), today, |_| {}).await?;
    // 频繁就诊 (JG-008) and 重复检查 (JG-011): five visits in five days, an MRI on the first and
    // on the last.
    let frequent = pick(&adults, 4)?;
    for (invoice, ended) in [("LZ-2026-0681", 9), ("LZ-2026-0682", 8), ("LZ-2026-0683", 7), ("LZ-2026-0684", 6)] {
        let lines: &[_] = if ended == 9 { &[CONSULTATION, MRI] } else { &[CONSULTATION] };
        submit(store, blobs, frequent, (o, invoice, ended, lines), today, |_| {}).await?;
    }
    submit(store, blobs, frequent, (o, "LZ-2026-0685", 5, &[CONSULTATION, MRI]), today, |_| {}).await?;
    // 重复报销 (JG-012): the same stay claimed again on the invoice written otherwise.
    let twice = pick(&adults, 5)?;
    submit(store, blobs, twice, (i, "LZ-2026-0690", 25, STAY), today, |_| {}).await?;
    submit(store, blobs, twice, (i, "No. LZ-2026-0690", 25, STAY), today, |_| {}).await?;
    // 同期住院 (JG-001, a violation): in 兰州大学第一医院 and 甘肃省人民医院 on the same days.
    let both = pick(&adults, 6)?;
    submit(store, blobs, both, (i, "LZ-2026-0702", 24, STAY), today, |_| {}).await?;
    submit(store, blobs, both, (i, "SR-2026-0311", 27, STAY), today, |c| {
        c.institution_code = "H62010200002".into();
        c.institution_name = "甘肃省人民医院".into();
    })
    .await?;
    // 急救抢救 (seed 003): anaphylactic shock treated at a clinic that is not designated; the
    // reviewer admitted the adrenaline outside the catalog as necessary for the rescue.
    let rescue = [("002201000010000", "1", "25.00", "25.00"), ("XZ00000000", "2", "300.00", "600.00")];
    let rescued = pick(&adults, 7)?;
    let claim =
        submit(store, blobs, rescued, (ClaimCase::LocalEmergency, "JC-120-2026-0088", 3, &rescue), today, |c| {
            c.institution_code = "H62030299999".into();
            c.institution_name = "金昌市金川区某诊所（非定点）".into();
            c.treatment_region = "620302".parse().unwrap_or(c.treatment_region);
        })
        .await?;
    let accounts = store.list_accounts().await?;
    let mut w = store.begin_write(&actor_in(&accounts, "reviewer")?).await?;
    store.take_claim(&mut w, claim).await?;
    let rules = store.rules().await?;
    let reason = Some(yibao_core::sporadic::RescueReason::DrugForRescue);
    let why = "过敏性休克抢救，肾上腺素为抢救必需，目录内无替代";
    store.admit_claim_line_for_rescue(&mut w, &rules, claim, 2, reason, why).await?;
    w.commit().await
}

/// What a claim of emergency care brings (seed 003).
const EMERGENCY_DOCUMENTS: &[yibao_core::document::DocumentKind] = {
    use yibao_core::document::DocumentKind as D;
    &[D::IdCard, D::SocialSecurityCard, D::Invoice, D::EmergencyRecord, D::ItemisedList, D::MedicalRecords]
};

/// Hands `claim` of `person` in at the window with every document its case needs (after
/// `adjust`), and accepts it: the engine adjudicates it and the rules look at it.
async fn submit(
    store: &Store,
    blobs: &Arc<dyn BlobStore>,
    person: i64,
    (case, invoice, ended, lines): Claim<'_>,
    today: NaiveDate,
    adjust: impl FnOnce(&mut ClaimInput),
) -> Result<i64, StoreError> {
    let accounts = store.list_accounts().await?;
    let clerk = actor_in(&accounts, "clerk")?;
    let mut input = lanzhou_claim(person, case, invoice, today - chrono::Duration::days(ended), lines)?;
    input.channel = yibao_core::filing::Channel::Window;
    adjust(&mut input);
    let mut w = store.begin_write(&clerk).await?;
    let c = store.submit_claim(&mut w, &input, today).await?;
    let documents = match case {
        ClaimCase::LocalEmergency => EMERGENCY_DOCUMENTS,
        _ if case.is_inpatient() => INPATIENT_DOCUMENTS,
        _ => OUTPATIENT_DOCUMENTS,
    };
    for kind in documents {
        let name = format!("{}.png", kind.label().zh);
        store.attach_claim_document(&mut w, blobs, c.id, *kind, &name, DEMO_SCAN_PNG.to_vec()).await?;
    }
    let rules = store.rules().await?;
    store.accept_claim(&mut w, &rules, c.id, today).await?;
    w.commit().await?;
    Ok(c.id)
}
